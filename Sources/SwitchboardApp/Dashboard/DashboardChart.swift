import Foundation

/// A bar chart drawn as inline SVG by the server: no script, no font, no request of its
/// own. Bars of several series stand side by side in each bucket; each carries a `<title>`
/// (the browser's tooltip) with its label and value.
struct BarChart: Sendable {
    struct Series: Sendable {
        var name: String
        var color: String
        var values: [Double]
    }

    var labels: [String]
    var series: [Series]
    /// How a value is written on the axis and in the tooltips.
    var format: @Sendable (Double) -> String

    static let width = 720.0
    static let height = 220.0
    static let left = 56.0
    static let right = 8.0
    static let top = 10.0
    static let bottom = 26.0

    func svg(title: String) -> String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let maximum = max(series.flatMap(\.values).max() ?? 0, 0)
        let scale = maximum > 0 ? maximum : 1
        var out = """
            <svg viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" role="img" aria-label="\(Self.escape(title))" \
            xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">
            """
        // Grid and axis values: zero, half and the top.
        for fraction in [0.0, 0.5, 1.0] {
            let y = Self.top + plotHeight * (1 - fraction)
            out += "<line x1=\"\(Self.left)\" y1=\"\(Self.number(y))\" x2=\"\(Self.width - Self.right)\" y2=\"\(Self.number(y))\" stroke=\"#dde2ea\"/>"
            out += "<text x=\"\(Self.left - 6)\" y=\"\(Self.number(y + 4))\" text-anchor=\"end\" fill=\"#5b6474\">\(Self.escape(format(maximum * fraction)))</text>"
        }
        let count = max(labels.count, 1)
        let group = plotWidth / Double(count)
        let barWidth = max(group * 0.8 / Double(max(series.count, 1)), 0.5)
        for (index, label) in labels.enumerated() {
            let start = Self.left + group * Double(index) + group * 0.1
            for (offset, line) in series.enumerated() {
                let value = index < line.values.count ? line.values[index] : 0
                let height = plotHeight * value / scale
                let x = start + barWidth * Double(offset)
                out += "<rect x=\"\(Self.number(x))\" y=\"\(Self.number(Self.top + plotHeight - height))\" width=\"\(Self.number(barWidth))\" "
                out += "height=\"\(Self.number(height))\" fill=\"\(line.color)\"><title>\(Self.escape("\(label) · \(line.name): \(format(value))"))</title></rect>"
            }
        }
        // The first, middle and last bucket's label under the axis.
        let marks = Set([0, labels.count / 2, labels.count - 1].filter { $0 >= 0 && $0 < labels.count })
        for index in marks.sorted() {
            let x = Self.left + group * (Double(index) + 0.5)
            let anchor = index == 0 ? "start" : index == labels.count - 1 ? "end" : "middle"
            let anchorX = index == 0 ? Self.left : index == labels.count - 1 ? Self.width - Self.right : x
            out += "<text x=\"\(Self.number(anchorX))\" y=\"\(Self.number(Self.height - 8))\" text-anchor=\"\(anchor)\" fill=\"#5b6474\">\(Self.escape(labels[index]))</text>"
        }
        return out + "</svg>"
    }

    static func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// Text and attribute values for XML.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
