/// The new part of a reply: the text above the signature (`-- `), above the reply header
/// that introduces the quoted history ("On … wrote:", "… написал(а):", Outlook's
/// "-----Original Message-----" or "From: … Sent: …" block), and without trailing
/// `>`-quoted lines. Heuristic by nature, so the full text is kept beside it.
enum ReplyTrimmer {
    static let wroteSuffixes = ["wrote:", "написал(а):", "написал:", "написала:", "пишет:", "жазды:"]

    static func replyText(_ text: String) -> String {
        // "\r\n" is one Character, so a plain split on "\n" would not see it.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map(String.init)
        var cut = lines.count
        for index in lines.indices {
            if isCutLine(lines, index) {
                cut = index
                break
            }
        }
        var kept = Array(lines[..<cut])
        // Trailing quotes (and the blank lines among them) go.
        while let last = kept.last, last.trimmingWhitespace().isEmpty || last.hasPrefix(">") {
            kept.removeLast()
        }
        let result = kept.joined(separator: "\n").trimmingWhitespace()
        // All of it cut (a reply written below the quote, say): the full text is safer.
        return result.isEmpty ? text : result
    }

    static func isCutLine(_ lines: [String], _ index: Int) -> Bool {
        let line = lines[index]
        if line == "-- " || line == "--" { return true }
        let trimmed = line.trimmingWhitespace()
        let lower = trimmed.lowercased()
        if lower.hasPrefix("-----"), lower.contains("original message") || lower.contains("исходное сообщение") {
            return true
        }
        // "On Mon, 7 Dec 2026 at 10:00, Name <a@b> wrote:", which Gmail wraps over two lines.
        let joined = index + 1 < lines.count ? lower + " " + lines[index + 1].trimmingWhitespace().lowercased() : lower
        if lower.hasPrefix("on ") || lower.hasPrefix("le ") || lower.hasPrefix("am ") {
            if wroteSuffixes.contains(where: { lower.hasSuffix($0) || joined.hasSuffix($0) }) { return true }
        }
        if wroteSuffixes.dropFirst().contains(where: { lower.hasSuffix($0) }) { return true }
        // Outlook: "From: …" then "Sent: …" (or "Date:") within the next lines; a line of
        // underscores above it counts as part of the block.
        if lower.hasPrefix("from:") || lower.hasPrefix("от:") || (lower.hasPrefix("_____") && trimmed.allSatisfy { $0 == "_" }) {
            let window = lines[(index + 1)..<min(lines.count, index + 5)].map { $0.trimmingWhitespace().lowercased() }
            let starts = ["sent:", "date:", "отправлено:", "дата:"]
            if lower.hasPrefix("_____") {
                return window.first.map { $0.hasPrefix("from:") || $0.hasPrefix("от:") } ?? false
            }
            return window.contains { line in starts.contains { line.hasPrefix($0) } }
        }
        return false
    }
}
