/// HTML to the plain text an agent reads: tags gone, `<script>`, `<style>` and `<head>`
/// with their content gone, block elements and `<br>` as line breaks, the common entities
/// decoded. Not a renderer: enough for mail that arrives as HTML only.
enum HTMLText {
    static let dropped: Set<String> = ["script", "style", "head", "title"]
    static let blocks: Set<String> = [
        "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "hr", "section", "article", "header", "footer",
    ]

    static func plainText(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var pendingSpace = false
        func newline() {
            out.append("\n")
            pendingSpace = false
        }
        while i < s.count {
            let c = s[i]
            if c == "<" {
                // A comment.
                if i + 3 < s.count, s[i + 1] == "!", s[i + 2] == "-", s[i + 3] == "-" {
                    i = find(s, "-->", from: i + 4).map { $0 + 3 } ?? s.count
                    continue
                }
                let end = tagEnd(s, from: i + 1)
                let (name, closing) = tagName(s, from: i + 1, to: end)
                i = end + 1
                if !closing, dropped.contains(name) {
                    // Skip to the matching close tag, whatever is inside.
                    i = findClose(s, name: name, from: i)
                    continue
                }
                if blocks.contains(name) { newline() }
                continue
            }
            if c == "&" {
                let (decoded, next) = entity(s, at: i)
                i = next
                if decoded == " " { pendingSpace = true; continue }
                if pendingSpace, !out.isEmpty, out.last != "\n" { out.append(" ") }
                pendingSpace = false
                out.append(decoded)
                continue
            }
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                pendingSpace = true
                i += 1
                continue
            }
            if pendingSpace, !out.isEmpty, out.last != "\n" { out.append(" ") }
            pendingSpace = false
            out.append(c)
            i += 1
        }
        return tidy(String(out))
    }

    /// Lines trimmed, runs of blank lines cut to one.
    static func tidy(_ text: String) -> String {
        var lines: [String] = []
        var blank = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingWhitespace()
            if t.isEmpty {
                blank += 1
                if blank == 1, !lines.isEmpty { lines.append("") }
            } else {
                blank = 0
                lines.append(t)
            }
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    static func find(_ s: [Unicode.Scalar], _ needle: String, from: Int) -> Int? {
        let n = Array(needle.unicodeScalars)
        guard !n.isEmpty, s.count >= n.count else { return nil }
        var i = from
        while i + n.count <= s.count {
            if s[i] == n[0], Array(s[i..<(i + n.count)]) == n { return i }
            i += 1
        }
        return nil
    }

    /// The index of the `>` ending a tag, quotes in attributes respected.
    static func tagEnd(_ s: [Unicode.Scalar], from: Int) -> Int {
        var i = from
        var quote: Unicode.Scalar?
        while i < s.count {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ">" {
                return i
            }
            i += 1
        }
        return s.count
    }

    static func tagName(_ s: [Unicode.Scalar], from: Int, to end: Int) -> (String, Bool) {
        var i = from
        var closing = false
        if i < end, s[i] == "/" { closing = true; i += 1 }
        var name = ""
        while i < end, i - from < 20, s[i].properties.isAlphabetic || ("0"..."9").contains(s[i]) {
            name.unicodeScalars.append(s[i])
            i += 1
        }
        return (name.lowercased(), closing)
    }

    /// Past the `</name ...>` that closes a dropped element, or the end.
    static func findClose(_ s: [Unicode.Scalar], name: String, from: Int) -> Int {
        var i = from
        while i < s.count {
            // The name first, within a few characters: finding the tag's end for every
            // "</" would make a page of unclosed quotes quadratic.
            if s[i] == "<", i + 1 < s.count, s[i + 1] == "/",
               tagName(s, from: i + 1, to: min(s.count, i + 2 + name.count + 1)).0 == name {
                return tagEnd(s, from: i + 1) + 1
            }
            i += 1
        }
        return s.count
    }

    static let named: [String: Unicode.Scalar] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ",
        "mdash": "\u{2014}", "ndash": "\u{2013}", "hellip": "\u{2026}", "laquo": "\u{AB}", "raquo": "\u{BB}",
        "copy": "\u{A9}", "rsquo": "\u{2019}", "lsquo": "\u{2018}", "ldquo": "\u{201C}", "rdquo": "\u{201D}",
    ]

    /// One entity at `i` (which is `&`): its character and the index after it; a `&` that
    /// starts no known entity is itself.
    static func entity(_ s: [Unicode.Scalar], at i: Int) -> (Unicode.Scalar, Int) {
        var j = i + 1
        var body = ""
        while j < s.count, j - i <= 10, s[j] != ";" {
            body.unicodeScalars.append(s[j])
            j += 1
        }
        guard j < s.count, s[j] == ";", !body.isEmpty else { return ("&", i + 1) }
        if body.hasPrefix("#") {
            let digits = body.dropFirst()
            let value: UInt32?
            if digits.hasPrefix("x") || digits.hasPrefix("X") {
                value = UInt32(digits.dropFirst(), radix: 16)
            } else {
                value = UInt32(digits, radix: 10)
            }
            guard let value else { return ("&", i + 1) }
            return (Unicode.Scalar(value).flatMap { $0 == "\0" ? nil : $0 } ?? "\u{FFFD}", j + 1)
        }
        if let scalar = named[body] ?? named[body.lowercased()] { return (scalar, j + 1) }
        return ("&", i + 1)
    }
}
