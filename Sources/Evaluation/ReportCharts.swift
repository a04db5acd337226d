// ReportCharts.swift — the compare report's bar charts as SVG: grouped bars (a few scores per pipeline, on 0…1)
// and stacked horizontal bars (each pipeline's cost split into its training stages). Every printed value is a
// `class="num"` element naming its pipeline and key, so a test can check it against report.json.
import Foundation

public enum ReportCharts {
  /// Grouped vertical bars: one group per metric, one bar per series, values on a 0…`maximum` axis.
  /// `values[metric][series]`; `format(metric, value)` prints a bar's label.
  public static func groupedBars(metrics: [(key: String, label: String)], series: [(key: String, label: String)],
                                 values: [String: [String: Double]], maximum: Double = 1, title: String,
                                 format: (String, Double) -> String, width: Int = 760, height: Int = 360) -> String
  {
    let left = 50.0, right = 150.0, top = 40.0, bottom = 40.0
    let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
    let groupWidth = plotWidth / Double(max(metrics.count, 1))
    let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
    func f(_ v: Double) -> String { String(format: "%.2f", v) }
    func py(_ v: Double) -> Double { top + plotHeight - (v.isFinite ? min(max(v, 0), maximum) : 0) / maximum * plotHeight }
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
      font-family="sans-serif" font-size="12" role="img" aria-label="\(MetricsPlot.xmlEscape(title))">
      <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
      <text x="\(f(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15">\(MetricsPlot.xmlEscape(title))</text>

      """
    for tick in stride(from: 0.0, through: maximum, by: maximum / 5) {
      svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(tick)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(tick)))\" stroke=\"#e6e6e6\"/>"
        + "<text x=\"\(f(left - 6))\" y=\"\(f(py(tick)))\" text-anchor=\"end\" dominant-baseline=\"middle\">"
        + String(format: "%.1f", tick) + "</text>\n"
    }
    for (g, metric) in metrics.enumerated() {
      let groupLeft = left + Double(g) * groupWidth + groupWidth * 0.1
      for (s, item) in series.enumerated() {
        let value = values[metric.key]?[item.key] ?? .nan
        let x = groupLeft + Double(s) * barWidth, y = py(value)
        let colour = MetricsPlot.palette[s % MetricsPlot.palette.count]
        svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth * 0.92))\" height=\"\(f(top + plotHeight - y))\" "
          + "fill=\"\(colour)\"><title>\(MetricsPlot.xmlEscape(item.label)) \(metric.label)</title></rect>"
          + "<text class=\"num\" data-method=\"\(item.key)\" data-key=\"\(metric.key)\" x=\"\(f(x + barWidth * 0.46))\" "
          + "y=\"\(f(y - 4))\" text-anchor=\"middle\" font-size=\"9\">\(format(metric.key, value))</text>\n"
      }
      svg += "<text x=\"\(f(left + (Double(g) + 0.5) * groupWidth))\" y=\"\(f(top + plotHeight + 18))\" "
        + "text-anchor=\"middle\">\(MetricsPlot.xmlEscape(metric.label))</text>\n"
    }
    svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333333\"/>\n"
    for (s, item) in series.enumerated() {
      let y = top + 10 + Double(s) * 20, x = left + plotWidth + 16
      svg += "<rect x=\"\(f(x))\" y=\"\(f(y - 6))\" width=\"14\" height=\"12\" fill=\"\(MetricsPlot.palette[s % MetricsPlot.palette.count])\"/>"
        + "<text x=\"\(f(x + 20))\" y=\"\(f(y))\" dominant-baseline=\"middle\">\(MetricsPlot.xmlEscape(item.label))</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// Horizontal bars, one per row, each split into labelled segments (a pipeline's training stages).
  /// `rows`: (key, label, segments of (label, value)); the total is printed after each bar as `data-key` `key`.
  public static func stackedBars(rows: [(key: String, label: String, segments: [(label: String, value: Double)])],
                                 key: String, unit: String, title: String, format: (Double) -> String,
                                 width: Int = 760) -> String
  {
    let left = 110.0, right = 120.0, top = 40.0, rowHeight = 34.0
    let height = Int(top + Double(max(rows.count, 1)) * rowHeight + 20)
    let plotWidth = Double(width) - left - right
    let largest = max(rows.map { $0.segments.reduce(0) { $0 + max($1.value, 0) } }.max() ?? 0, 1e-9)
    func f(_ v: Double) -> String { String(format: "%.2f", v) }
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
      font-family="sans-serif" font-size="12" role="img" aria-label="\(MetricsPlot.xmlEscape(title))">
      <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
      <text x="\(f(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15">\(MetricsPlot.xmlEscape(title))</text>

      """
    for (r, row) in rows.enumerated() {
      let y = top + Double(r) * rowHeight
      svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y + rowHeight / 2 - 3))\" text-anchor=\"end\" dominant-baseline=\"middle\">"
        + "\(MetricsPlot.xmlEscape(row.label))</text>\n"
      var x = left
      for (s, segment) in row.segments.enumerated() {
        let w = max(segment.value, 0) / largest * plotWidth
        svg += "<rect x=\"\(f(x))\" y=\"\(f(y + 4))\" width=\"\(f(w))\" height=\"\(f(rowHeight - 14))\" "
          + "fill=\"\(MetricsPlot.palette[(s + 1) % MetricsPlot.palette.count])\" stroke=\"white\">"
          + "<title>\(MetricsPlot.xmlEscape(segment.label))</title></rect>"
        if w > 40 {
          svg += "<text x=\"\(f(x + w / 2))\" y=\"\(f(y + rowHeight / 2 - 3))\" text-anchor=\"middle\" "
            + "dominant-baseline=\"middle\" fill=\"white\" font-size=\"11\">\(MetricsPlot.xmlEscape(segment.label))</text>"
        }
        x += w
      }
      let total = row.segments.reduce(0) { $0 + $1.value }
      svg += "<text x=\"\(f(x + 6))\" y=\"\(f(y + rowHeight / 2 - 3))\" dominant-baseline=\"middle\">"
        + "<tspan class=\"num\" data-method=\"\(row.key)\" data-key=\"\(key)\">\(format(total))</tspan> \(unit)</text>\n"
    }
    return svg + "</svg>\n"
  }
}
