public import SwitchboardCore

/// Picks the FAQ entry a message asks about, by the words they share. Deterministic and
/// language-agnostic: it works on any script Unicode calls letters (Latin, Cyrillic,
/// Kazakh's extra letters).
///
/// Both texts become sets of words: lowercased, split at anything that is not a letter or
/// digit, `ё` read as `е`, words shorter than ``minimumWordLength`` dropped (unless that
/// leaves a question with no words). A question word matches a message word when they are
/// equal or share a prefix covering at least 80% of the shorter one and 4 characters, so
/// endings do not matter much ("доставка"/"доставку", "hour"/"hours"). The score of an
/// entry is the share of its question's words found in the message; the best entry with a
/// score of at least ``threshold`` wins, ties going to the entry listed first.
public struct FAQMatcher: Sendable {
    /// The lowest score that counts as a match: half of the question's words.
    public static let threshold = 0.5
    /// Shorter words ("a", "is", "в", "на") say little about the topic.
    public static let minimumWordLength = 3

    let entries: [(entry: FAQEntry, words: [String])]

    public init(_ faq: [FAQEntry]) {
        self.entries = faq.map { ($0, Self.words(of: $0.question)) }.filter { !$0.1.isEmpty }
    }

    /// The entry that answers `message`, or `nil` when none scores high enough.
    public func bestEntry(for message: String) -> FAQEntry? {
        let messageWords = Set(Self.words(of: message, keepShortWhenEmpty: false))
        guard !messageWords.isEmpty else { return nil }
        var best: (entry: FAQEntry, score: Double)?
        for (entry, questionWords) in entries {
            let found = questionWords.filter { word in messageWords.contains { Self.matches(word, $0) } }.count
            let score = Double(found) / Double(questionWords.count)
            if score >= Self.threshold, score > (best?.score ?? 0) { best = (entry, score) }
        }
        return best?.entry
    }

    /// The distinct significant words of a text, in order of first appearance.
    static func words(of text: String, keepShortWhenEmpty: Bool = true) -> [String] {
        let normalized = String(text.lowercased().map { $0 == "ё" ? "е" : $0 })
        let all = normalized.split { !($0.isLetter || $0.isNumber) }.map(String.init)
        var seen = Set<String>()
        let distinct = all.filter { seen.insert($0).inserted }
        let long = distinct.filter { $0.count >= minimumWordLength }
        return long.isEmpty && keepShortWhenEmpty ? distinct : long
    }

    static func matches(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        let shorter = min(a.count, b.count)
        guard shorter >= 4 else { return false }
        let common = zip(a, b).prefix { $0 == $1 }.count
        return common >= 4 && Double(common) >= 0.8 * Double(shorter)
    }
}
