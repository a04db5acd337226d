// MetricsPlot.swift — a small SVG line chart (axes, ticks, grid, legend) so `orpo` can save loss and accuracy
// curves without Python or a plotting library.
import Foundation

public enum MetricsPlot {
  /// Matplotlib's tab10 colours, in order.
  static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                        "#bcbd22", "#17becf"]

  /// An SVG document with one `<polyline>` per series (series sorted by name, so output is stable).
  /// Non-finite points are left out; an empty series still gets its (empty) polyline and legend entry.
  public static func svg(series: [String: [(Double, Double)]], title: String, xLabel: String = "step",
                         yLabel: String = "", width: Int = 720, height: Int = 420) -> String
  {
    let names = series.keys.sorted()
    let legendWidth = names.isEmpty ? 0 : min(220, 40 + 7 * (names.map(\.count).max() ?? 0))
    let left = 70.0, right = 20.0 + Double(legendWidth), top = 40.0, bottom = 55.0
    let plotWidth = max(10, Double(width) - left - right), plotHeight = max(10, Double(height) - top - bottom)

    let points = names.flatMap { series[$0]! }.filter { $0.0.isFinite && $0.1.isFinite }
    let xTicks = niceTicks(points.map(\.0)), yTicks = niceTicks(points.map(\.1))
    let (xMin, xMax) = (xTicks.first!, xTicks.last!), (yMin, yMax) = (yTicks.first!, yTicks.last!)
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
    func py(_ y: Double) -> Double { top + plotHeight - (y - yMin) / (yMax - yMin) * plotHeight }
    func f(_ value: Double) -> String { String(format: "%.2f", value) }

    var svg = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
      font-family="sans-serif" font-size="12">
      <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
      <text x="\(f(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15">\(xmlEscape(title))</text>

      """
    // Grid and ticks.
    let xDecimals = decimals(for: xTicks), yDecimals = decimals(for: yTicks)
    for tick in xTicks {
      let x = f(px(tick))
      svg += "<line x1=\"\(x)\" y1=\"\(f(top))\" x2=\"\(x)\" y2=\"\(f(top + plotHeight))\" stroke=\"#e6e6e6\"/>\n"
      svg += "<text x=\"\(x)\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">"
        + "\(String(format: "%.\(xDecimals)f", tick))</text>\n"
    }
    for tick in yTicks {
      let y = f(py(tick))
      svg += "<line x1=\"\(f(left))\" y1=\"\(y)\" x2=\"\(f(left + plotWidth))\" y2=\"\(y)\" stroke=\"#e6e6e6\"/>\n"
      svg += "<text x=\"\(f(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">"
        + "\(String(format: "%.\(yDecimals)f", tick))</text>\n"
    }
    // Axes and their labels.
    svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" "
      + "fill=\"none\" stroke=\"#333333\"/>\n"
    svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 38))\" text-anchor=\"middle\">"
      + "\(xmlEscape(xLabel))</text>\n"
    if !yLabel.isEmpty {
      svg += "<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" "
        + "transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">\(xmlEscape(yLabel))</text>\n"
    }
    // One polyline per series, then the legend.
    for (index, name) in names.enumerated() {
      let colour = palette[index % palette.count]
      let coordinates = series[name]!.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }
      svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(coordinates.joined(separator: " "))\">"
        + "<title>\(xmlEscape(name))</title></polyline>\n"
      let legendX = left + plotWidth + 14, legendY = top + 8 + Double(index) * 18
      svg += "<line x1=\"\(f(legendX))\" y1=\"\(f(legendY))\" x2=\"\(f(legendX + 20))\" y2=\"\(f(legendY))\" "
        + "stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
      svg += "<text x=\"\(f(legendX + 26))\" y=\"\(f(legendY))\" dominant-baseline=\"middle\">\(xmlEscape(name))</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// Round tick values (1, 2, 5 × 10^k steps, about five of them) covering the data; the first and last tick are
  /// the axis limits. A flat or empty range is widened so the axis never has zero length.
  static func niceTicks(_ values: [Double], target: Int = 5) -> [Double] {
    var low = values.min() ?? 0, high = values.max() ?? 1
    if low == high {
      let pad = low == 0 ? 1 : Swift.abs(low) * 0.1
      low -= pad
      high += pad
    }
    let raw = (high - low) / Double(target)
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
    return stride(from: first, through: last, by: 1).map { $0 * step + 0 }  // + 0 turns -0.0 into 0.0
  }

  static func decimals(for ticks: [Double]) -> Int {
    guard ticks.count > 1 else { return 0 }
    let step = ticks[1] - ticks[0]
    return max(0, min(10, Int((-log10(step)).rounded(.up))))
  }

  static func xmlEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
