// MetricsPlotTests.swift — the SVG line chart: well-formed XML, one polyline per series, escaped labels, ticks.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Evaluation

@Suite struct MetricsPlotTests {
  @Test func svgPlotIsWellFormedWithOnePolylinePerSeries() throws {
    let series: [String: [(Double, Double)]] = [
      "train/loss": (1...50).map { (Double($0), 2.0 / Double($0) + 0.5) },
      "eval/loss": [(10, 1.1), (20, 0.9), (30, .nan), (40, 0.8)],
      "flat <&> \"quoted\"": [(0, 3), (50, 3)],
      "empty": [],
    ]
    let svg = MetricsPlot.svg(series: series, title: "ORPO loss & accuracy", yLabel: "loss")
    final class Collector: NSObject, XMLParserDelegate {
      var polylines = 0, elements: [String] = [], texts: [String] = [], current = ""
      func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                  attributes: [String: String] = [:])
      {
        elements.append(name)
        if name == "polyline" { polylines += 1 }
        current = ""
      }
      func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
      func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" || name == "title" { texts.append(current) }
      }
    }
    let collector = Collector()
    let parser = XMLParser(data: Foundation.Data(svg.utf8))
    parser.delegate = collector
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(collector.elements.first == "svg")
    #expect(collector.polylines == series.count)
    #expect(collector.texts.contains("ORPO loss & accuracy"))
    #expect(collector.texts.contains("flat <&> \"quoted\""))
    #expect(MetricsPlot.niceTicks([0.13, 0.97]) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
    #expect(MetricsPlot.niceTicks([3, 3]).first! < 3 && MetricsPlot.niceTicks([3, 3]).last! > 3)
  }
}
