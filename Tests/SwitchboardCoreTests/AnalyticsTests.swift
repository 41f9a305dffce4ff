import Foundation
import SwitchboardCore
import Testing

@Suite("Analytics arithmetic: histogram percentiles, distinct-contact sketches, metric values")
struct AnalyticsArithmeticTests {
    @Test("a percentile is interpolated inside its bucket; the open last bucket answers its lower bound; nothing counted is nil")
    func quantiles() {
        #expect(LatencyHistogram().quantile(0.5) == nil)
        var counts = [Int64](repeating: 0, count: LatencyHistogram.bounds.count + 1)
        counts[0] = 4  // [0, 100)
        counts[1] = 4  // [100, 250)
        let histogram = LatencyHistogram(counts: counts)
        #expect(histogram.total == 8)
        #expect(histogram.quantile(0.5) == 100)
        #expect(histogram.quantile(0.25) == 50)
        #expect(histogram.quantile(0.75) == 175)
        #expect(histogram.quantile(1) == 250)
        var open = [Int64](repeating: 0, count: LatencyHistogram.bounds.count + 1)
        open[LatencyHistogram.bounds.count] = 1
        #expect(LatencyHistogram(counts: open).quantile(0.9) == 86_400_000)
        var merged = histogram
        merged.add(counts)
        #expect(merged.total == 16)
        #expect(merged.quantile(0.5) == 100)
    }

    @Test("a sketch counts small sets exactly, and merging takes the highest rank per register")
    func sketches() {
        #expect(ContactSketch().estimate == 0)
        let three: [Int32] = [(5 << 6) | 1, (900 << 6) | 3, (2047 << 6) | 2]
        #expect(ContactSketch(sparse: three).estimate == 3)
        var merged = ContactSketch(sparse: three)
        merged.add(sparse: [(5 << 6) | 4, (6 << 6) | 1])
        #expect(merged.estimate == 4)
        // Out-of-range registers from a damaged row are ignored, never a crash.
        merged.add(sparse: [-1, Int32.max])
        #expect(merged.estimate == 4)
    }

    @Test("a sketch packed as bytes (the daily rollup's form) merges as its elements do; a torn tail is ignored")
    func packedSketches() {
        let elements: [Int32] = [(5 << 6) | 1, (900 << 6) | 3, (2047 << 6) | 2, (5 << 6) | 4, -1, Int32.max, (6 << 6) | 1]
        var bytes: [UInt8] = elements.flatMap { element in withUnsafeBytes(of: element.bigEndian) { Array($0) } }
        bytes += [0x00, 0x01]
        var packed = ContactSketch()
        bytes.withUnsafeBytes { packed.add(packed: $0) }
        #expect(packed == ContactSketch(sparse: elements))
        #expect(packed.estimate == 4)
    }

    @Test("rates over nothing are undefined, not zero")
    func rates() {
        var figures = AnalyticsFigures()
        #expect(figures.value(of: .handoffRate) == nil)
        #expect(figures.value(of: .aiResolutionRate) == nil)
        #expect(figures.value(of: .inboundMessages) == 0)
        figures.counts.conversationsOpened = 4
        figures.counts.handoffs = 1
        #expect(figures.value(of: .handoffRate) == 0.25)
        for metric in AnalyticsMetric.allCases { #expect(!metric.meaning.isEmpty) }
    }
}
