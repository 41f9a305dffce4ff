/// Masks personal identifiers (card numbers, Kazakh IINs, emails and phone numbers) in text
/// before it is sent to an AI model provider.
///
/// One value redacts one conversation: call ``redact(_:)`` on each message in turn, and the
/// same identifier gets the same placeholder every time, however it was written ("+7 701 123 45 67"
/// and "87011234567" are one phone). Placeholders are numbered per kind in order of first
/// appearance ("[PHONE_1]", "[PHONE_2]", "[EMAIL_1]"). They are plain ASCII and never detected
/// again. Text with nothing to mask comes back unchanged, byte for byte.
///
/// Detection is a hand-written scanner over the text's UTF-8 bytes and is linear in its length.
/// It looks for cards first, then IINs, then emails, then phones, each rule only in the bytes
/// the earlier ones left, so a phone never swallows part of a card or an IIN.
public struct PIIRedactor: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case email, phone, card, iin
    }

    /// The placeholders made so far: placeholder → the identifier as it first appeared.
    public private(set) var replacements: [String: String] = [:]
    /// How many identifiers of each kind were masked so far, every occurrence counted.
    /// A kind never seen has no entry.
    public private(set) var counts: [Kind: Int] = [:]
    /// Kind → normalized identifier → its placeholder.
    private var placeholders: [Kind: [String: String]] = [:]

    public init() {}

    /// Returns `text` with every identifier replaced by its placeholder.
    public mutating func redact(_ text: String) -> String {
        var detector = Detector(text)
        detector.findCards()
        detector.findIINs()
        detector.findEmails()
        detector.findPhones()
        guard !detector.matches.isEmpty else { return text }

        let bytes = detector.bytes
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var copied = 0
        for match in detector.matches.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            output += bytes[copied..<match.range.lowerBound]
            let original = String(decoding: bytes[match.range], as: UTF8.self)
            output += placeholder(for: match.kind, key: match.key, original: original).utf8
            copied = match.range.upperBound
        }
        output += bytes[copied...]
        return String(decoding: output, as: UTF8.self)
    }

    private mutating func placeholder(for kind: Kind, key: String, original: String) -> String {
        counts[kind, default: 0] += 1
        if let existing = placeholders[kind]?[key] { return existing }
        let placeholder = "[\(kind.rawValue.uppercased())_\((placeholders[kind]?.count ?? 0) + 1)]"
        placeholders[kind, default: [:]][key] = placeholder
        replacements[placeholder] = original
        return placeholder
    }

    /// Whether `digits` is a valid Kazakh IIN: 12 ASCII digits starting with a plausible YYMMDD
    /// birth date (month 01–12, day 01–31) and a century-and-sex digit 0–6, ending in the check digit.
    ///
    /// The check digit is the sum of the first 11 digits weighted 1…11, mod 11; if that is 10, the
    /// sum weighted 3…11, 1, 2, mod 11; if that is 10 too, the number is invalid.
    public static func isValidIIN(_ digits: String) -> Bool {
        isValidIIN(bytes: Array(digits.utf8))
    }

    /// Whether `digits` (ASCII digits only, at least one) passes the Luhn check of card numbers.
    public static func isLuhnValid(_ digits: String) -> Bool {
        isLuhnValid(bytes: Array(digits.utf8))
    }

    fileprivate static func isValidIIN(bytes: [UInt8]) -> Bool {
        guard bytes.count == 12, bytes.allSatisfy(\.isDigit) else { return false }
        let digits = bytes.map { Int($0 - .digitZero) }
        let month = digits[2] * 10 + digits[3]
        let day = digits[4] * 10 + digits[5]
        guard (1...12).contains(month), (1...31).contains(day), digits[6] <= 6 else { return false }
        func check(_ weights: [Int]) -> Int {
            zip(weights, digits).reduce(0) { $0 + $1.0 * $1.1 } % 11
        }
        var result = check(Array(1...11))
        if result == 10 { result = check([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]) }
        return result != 10 && result == digits[11]
    }

    fileprivate static func isLuhnValid(bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.allSatisfy(\.isDigit) else { return false }
        var sum = 0
        for (position, byte) in bytes.reversed().enumerated() {
            let digit = Int(byte - .digitZero)
            let doubled = digit * 2
            sum += position.isMultiple(of: 2) ? digit : (doubled > 9 ? doubled - 9 : doubled)
        }
        return sum.isMultiple(of: 10)
    }
}

/// An identifier found in the text: its bytes, its kind, and the normalized form that decides
/// which placeholder it gets.
private struct Match {
    var range: Range<Int>
    var kind: PIIRedactor.Kind
    var key: String
}

/// The rules, run over one text's UTF-8 bytes. Each rule claims the bytes it matches; later rules
/// skip claimed bytes. Every rule matches ASCII only, so the text around a match (Cyrillic, emoji)
/// is never split.
private struct Detector {
    let bytes: [UInt8]
    private var claimed: [Bool]
    private(set) var matches: [Match] = []

    init(_ text: String) {
        bytes = Array(text.utf8)
        claimed = Array(repeating: false, count: bytes.count)
    }

    // MARK: Cards

    /// Card numbers: 13–19 digits, Luhn-valid, written contiguously or as groups joined by single
    /// spaces or hyphens, the first group of four digits and the others of three to six
    /// ("4111 1111 1111 1111", "3782-822463-10005"). In a longer chain of groups the leftmost,
    /// then longest, card made of whole groups is taken.
    mutating func findCards() {
        var start = 0
        while start < bytes.count {
            guard isFreeDigit(start) else {
                start += 1
                continue
            }
            var groups = [start..<digitsEnd(from: start)]
            while let last = groups.last, let separator = byte(at: last.upperBound), separator == .space || separator == .hyphen,
                  isFreeDigit(last.upperBound + 1) {
                groups.append(last.upperBound + 1..<digitsEnd(from: last.upperBound + 1))
            }
            var first = 0
            while first < groups.count {
                if let last = longestCard(in: groups, from: first) {
                    let range = groups[first].lowerBound..<groups[last].upperBound
                    claim(range, as: .card, key: String(decoding: digits(of: groups[first...last]), as: UTF8.self))
                    first = last + 1
                } else {
                    first += 1
                }
            }
            start = groups[groups.count - 1].upperBound
        }
    }

    private func longestCard(in groups: [Range<Int>], from first: Int) -> Int? {
        var found: Int?
        var count = 0
        for last in first..<groups.count {
            if last > first, groups[first].count != 4 || !(3...6).contains(groups[last].count) { break }
            count += groups[last].count
            if count > 19 { break }
            let range = groups[first].lowerBound..<groups[last].upperBound
            if count >= 13, isStandaloneNumber(range), PIIRedactor.isLuhnValid(bytes: digits(of: groups[first...last])) {
                found = last
            }
        }
        return found
    }

    // MARK: IINs

    /// Kazakh IINs: exactly 12 contiguous digits, not part of a longer run, that pass
    /// ``PIIRedactor/isValidIIN(_:)``.
    mutating func findIINs() {
        var start = 0
        while start < bytes.count {
            guard isFreeDigit(start) else {
                start += 1
                continue
            }
            let range = start..<digitsEnd(from: start)
            let digits = Array(bytes[range])
            if range.count == 12, isStandaloneNumber(range), PIIRedactor.isValidIIN(bytes: digits) {
                claim(range, as: .iin, key: String(decoding: digits, as: UTF8.self))
            }
            start = range.upperBound
        }
    }

    /// A card or IIN stands alone: it is not glued to another number ("31.12.2025 4111…"), no "+"
    /// precedes it (that is a phone) and no "@" follows it (that is an email's local part). Its
    /// checksum makes it safe to take even when letters touch it ("IIN900101300007").
    private func isStandaloneNumber(_ range: Range<Int>) -> Bool {
        if byte(at: range.lowerBound - 1) == .plus || byte(at: range.upperBound) == .at { return false }
        return !isGluedToNumber(before: range.lowerBound) && !isGluedToNumber(after: range.upperBound)
    }

    // MARK: Emails

    /// Emails: `local@domain.tld` in ASCII. The local part is letters, digits and `._%+-` (and `_`,
    /// common in real addresses); the domain is dot-separated labels of letters, digits and
    /// hyphens, ending in a top-level domain of at least two letters. A sentence's closing "." or ","
    /// stays outside. Matched case-insensitively.
    mutating func findEmails() {
        var at = 0
        while at < bytes.count {
            guard bytes[at] == .at, !claimed[at], let range = email(around: at) else {
                at += 1
                continue
            }
            claim(range, as: .email, key: String(decoding: bytes[range], as: UTF8.self).lowercased())
            at = range.upperBound
        }
    }

    private func email(around at: Int) -> Range<Int>? {
        var start = at
        while start > 0, !claimed[start - 1], bytes[start - 1].isEmailLocal { start -= 1 }
        while start < at, bytes[start] == .dot { start += 1 }
        guard start < at else { return nil }

        var labels: [Range<Int>] = []
        var labelStart = at + 1
        while true {
            var end = labelStart
            while isFree(end), bytes[end].isLetterOrDigit || bytes[end] == .hyphen { end += 1 }
            while end > labelStart, bytes[end - 1] == .hyphen { end -= 1 }
            guard end > labelStart else { break }
            labels.append(labelStart..<end)
            guard isFree(end), bytes[end] == .dot else { break }
            labelStart = end + 1
        }
        while let last = labels.last, last.count < 2 || !bytes[last].allSatisfy(\.isLetter) { labels.removeLast() }
        guard labels.count >= 2, let topLevel = labels.last else { return nil }
        return start..<topLevel.upperBound
    }

    // MARK: Phones

    /// Phones: digit groups joined by spaces, hyphens, dots or parentheses ("+7 (701) 123-45-67",
    /// "8(727)2501234"), one of
    /// - "+" and 10–15 digits (international; exactly 11 after "+7", the Kazakh/Russian plan),
    /// - 11 digits starting with 7 or 8 (Kazakh/Russian national, "87011234567"),
    /// - 10 or 11 digits with separators ("(727) 250-12-34").
    ///
    /// Only the first group may be a single digit (the "+7" or "8" in front). Not phones: amounts
    /// grouped in thousands ("15 000 000 000"), dots mixed with spaces or hyphens (a date and a
    /// time), numbers glued to more digits by "." or ":" (decimals, times), and digits touching
    /// letters. A chain of groups split by spaces may hold a phone among other numbers
    /// ("кв. 12 8 701 123 45 67"); then the most phone-like part is taken.
    mutating func findPhones() {
        var start = 0
        while start < bytes.count {
            guard isFree(start), start == 0 || !bytes[start - 1].isWordByte, let chain = phoneChain(at: start) else {
                start += 1
                continue
            }
            var first = 0
            while first < chain.groups.count {
                if let phone = bestPhone(in: chain, from: first),
                   !(first + 1..<phone.last + 1).contains(where: { (bestPhone(in: chain, from: $0)?.rank ?? 0) > phone.rank }) {
                    claim(phone.range, as: .phone, key: phone.key)
                    first = phone.last + 1
                } else {
                    first += 1
                }
            }
            start = chain.groups[chain.groups.count - 1].upperBound
        }
    }

    /// Digit groups joined by phone separators, possibly after a "+" or an opening parenthesis.
    private struct PhoneChain {
        var hasPlus: Bool
        /// Where the chain starts: its "+", its opening parenthesis or its first digit.
        var start: Int
        var groups: [Range<Int>]
        /// Whether a phone may start at group `i` and end just before it: at the chain's start
        /// and end, and after separators with a space. One more entry than groups.
        var isBoundary: [Bool]
    }

    /// A phone found in a chain: its bytes, its last group, how phone-like it is (higher is more)
    /// and its digits normalized.
    private struct Phone {
        var range: Range<Int>
        var last: Int
        var rank: Int
        var key: String
    }

    private func phoneChain(at start: Int) -> PhoneChain? {
        var position = start
        let hasPlus = bytes[position] == .plus
        if hasPlus || bytes[position] == .openParen { position += 1 }
        guard isFreeDigit(position) else { return nil }
        var groups = [position..<digitsEnd(from: position)]
        var isBoundary = [true]
        while let last = groups.last {
            let next = separatorsEnd(from: last.upperBound)
            guard next > last.upperBound, isFreeDigit(next) else { break }
            groups.append(next..<digitsEnd(from: next))
            isBoundary.append(bytes[last.upperBound..<next].contains(.space))
        }
        isBoundary.append(true)
        return PhoneChain(hasPlus: hasPlus, start: start, groups: groups, isBoundary: isBoundary)
    }

    /// Where the separators between two digit groups end: an optional space, hyphen or dot, an
    /// optional parenthesis, and another optional space, hyphen or dot.
    private func separatorsEnd(from start: Int) -> Int {
        var position = start
        if isFree(position), bytes[position].isPhoneSeparator { position += 1 }
        if isFree(position), bytes[position] == .openParen || bytes[position] == .closeParen { position += 1 }
        if isFree(position), bytes[position].isPhoneSeparator { position += 1 }
        return position
    }

    /// The separators between group `index - 1` and group `index`.
    private func separators(before index: Int, in chain: PhoneChain) -> ArraySlice<UInt8> {
        bytes[chain.groups[index - 1].upperBound..<chain.groups[index].lowerBound]
    }

    /// The most phone-like phone of whole groups starting at group `first`, the longest among equals.
    private func bestPhone(in chain: PhoneChain, from first: Int) -> Phone? {
        guard chain.isBoundary[first] else { return nil }
        var best: Phone?
        var count = 0
        for last in first..<chain.groups.count {
            count += chain.groups[last].count
            if count > 15 { break }
            if chain.isBoundary[last + 1], let phone = phone(in: chain, from: first, to: last, digitCount: count),
               phone.rank >= best?.rank ?? 0 {
                best = phone
            }
        }
        return best
    }

    /// Groups `first...last` as a phone, ranked 3 for "+", 2 for Kazakh/Russian national and 1
    /// for separated digits; nil if they are not one.
    private func phone(in chain: PhoneChain, from first: Int, to last: Int, digitCount: Int) -> Phone? {
        let hasPlus = first == 0 && chain.hasPlus
        guard (10...(hasPlus ? 15 : 11)).contains(digitCount) else { return nil }
        let groups = chain.groups[first...last]
        guard groups.dropFirst().allSatisfy({ $0.count >= 2 }) else { return nil }
        let digits = digits(of: groups)
        let inner = (first + 1..<last + 1).map { separators(before: $0, in: chain) }
        let joined = inner.joined()
        if joined.contains(.dot), joined.contains(.space) || joined.contains(.hyphen) { return nil }

        // An opening parenthesis just before the first group belongs to the phone if it is closed inside.
        let parentheses = joined.filter { $0 == .openParen || $0 == .closeParen }
        let firstDigit = groups[first].lowerBound
        var start = hasPlus ? chain.start : firstDigit
        if !hasPlus, byte(at: firstDigit - 1) == .openParen, Self.isBalanced([.openParen] + parentheses) {
            start = firstDigit - 1
        } else if !Self.isBalanced(parentheses) {
            return nil
        }
        let end = groups[last].upperBound
        if first == 0, isGluedToNumber(before: start) { return nil }
        if last == chain.groups.count - 1, let after = byte(at: end), after.isWordByte || after == .at || isGluedToNumber(after: end) {
            return nil
        }

        let rank: Int
        if hasPlus {
            guard digits.first != .seven || digits.count == 11 else { return nil }
            rank = 3
        } else {
            guard !isThousands(groups, separators: inner) else { return nil }
            if digits.count == 11, digits.first == .seven || digits.first == .eight {
                rank = 2
            } else if last > first {
                rank = 1
            } else {
                return nil
            }
        }
        var key = digits
        if !hasPlus, key.count == 11, key.first == .eight { key[0] = .seven }
        return Phone(range: start..<end, last: last, rank: rank, key: String(decoding: key, as: UTF8.self))
    }

    /// Whether parentheses open and close in turn and all are closed.
    private static func isBalanced(_ parentheses: [UInt8]) -> Bool {
        var isOpen = false
        for parenthesis in parentheses {
            guard (parenthesis == .openParen) != isOpen else { return false }
            isOpen.toggle()
        }
        return !isOpen
    }

    /// An amount written in thousands: one to three digits, then groups of exactly three, each
    /// after the same single space or dot ("15 000 000 000").
    private func isThousands(_ groups: ArraySlice<Range<Int>>, separators: [ArraySlice<UInt8>]) -> Bool {
        guard groups.count > 1, (1...3).contains(groups[groups.startIndex].count), groups.dropFirst().allSatisfy({ $0.count == 3 }),
              let separator = separators.first, separator.count == 1, separator.first == .space || separator.first == .dot
        else { return false }
        return separators.allSatisfy { $0 == separator }
    }

    private func isGluedToNumber(before start: Int) -> Bool {
        guard let before = byte(at: start - 1), let digit = byte(at: start - 2) else { return false }
        return before.isNumberJoiner && digit.isDigit
    }

    private func isGluedToNumber(after end: Int) -> Bool {
        guard let after = byte(at: end), let digit = byte(at: end + 1) else { return false }
        return after.isNumberJoiner && digit.isDigit
    }

    // MARK: Bytes

    private mutating func claim(_ range: Range<Int>, as kind: PIIRedactor.Kind, key: String) {
        for index in range { claimed[index] = true }
        matches.append(Match(range: range, kind: kind, key: key))
    }

    private func byte(at index: Int) -> UInt8? {
        bytes.indices.contains(index) ? bytes[index] : nil
    }

    private func isFree(_ index: Int) -> Bool {
        index < bytes.count && !claimed[index]
    }

    private func isFreeDigit(_ index: Int) -> Bool {
        isFree(index) && bytes[index].isDigit
    }

    private func digitsEnd(from start: Int) -> Int {
        var end = start
        while isFreeDigit(end) { end += 1 }
        return end
    }

    private func digits(of groups: ArraySlice<Range<Int>>) -> [UInt8] {
        groups.flatMap { bytes[$0] }
    }
}

private extension UInt8 {
    static let digitZero = UInt8(ascii: "0")
    static let seven = UInt8(ascii: "7")
    static let eight = UInt8(ascii: "8")
    static let space = UInt8(ascii: " ")
    static let hyphen = UInt8(ascii: "-")
    static let dot = UInt8(ascii: ".")
    static let plus = UInt8(ascii: "+")
    static let at = UInt8(ascii: "@")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")

    var isDigit: Bool { UInt8(ascii: "0") <= self && self <= UInt8(ascii: "9") }
    var isLetter: Bool { UInt8(ascii: "a") <= self && self <= UInt8(ascii: "z") || UInt8(ascii: "A") <= self && self <= UInt8(ascii: "Z") }
    var isLetterOrDigit: Bool { isLetter || isDigit }
    var isWordByte: Bool { isLetterOrDigit || self == UInt8(ascii: "_") }
    var isEmailLocal: Bool { isWordByte || "._%+-".utf8.contains(self) }
    var isPhoneSeparator: Bool { self == .space || self == .hyphen || self == .dot }
    /// Punctuation that joins digits into one number: decimals, dates and times. Not the comma or
    /// the slash, which also separate values in lists and tables.
    var isNumberJoiner: Bool { self == .dot || self == UInt8(ascii: ":") }
}
