import SwitchboardCore
import Testing

@Suite("Personal identifiers are masked before text leaves for a model, consistently within a conversation")
struct PIIRedactorTests {
    // MARK: Each kind

    @Test("an IIN, a phone and an email in a Russian sentence each become their placeholder")
    func russianSentence() {
        var fake = Fake(seed: 1)
        let iin = fake.iin()
        var redactor = PIIRedactor()
        let text = "Мой ИИН \(iin), телефон +7 701 123 45 67, почта dana@example.kz."
        #expect(redactor.redact(text) == "Мой ИИН [IIN_1], телефон [PHONE_1], почта [EMAIL_1].")
        #expect(redactor.replacements == ["[IIN_1]": iin, "[PHONE_1]": "+7 701 123 45 67", "[EMAIL_1]": "dana@example.kz"])
    }

    @Test("a card and an IIN in Kazakh text keep the emoji and lines around them")
    func kazakhText() {
        var fake = Fake(seed: 2)
        let iin = fake.iin()
        let card = Fake.grouped(fake.card(), sizes: [4, 4, 4, 4], separator: " ")
        var redactor = PIIRedactor()
        let text = "Сәлеметсіз бе! Менің ЖСН: \(iin)\nКартам \(card) 🙂 рахмет!"
        #expect(redactor.redact(text) == "Сәлеметсіз бе! Менің ЖСН: [IIN_1]\nКартам [CARD_1] 🙂 рахмет!")
        #expect(redactor.replacements["[CARD_1]"] == card)
    }

    @Test("an international phone, a mixed-case email and a hyphenated card in English")
    func englishSentence() {
        var redactor = PIIRedactor()
        let text = "Call +44 20 7946 0958 or write to John.Smith@Example.co.uk, card 4111-1111-1111-1111."
        #expect(redactor.redact(text) == "Call [PHONE_1] or write to [EMAIL_1], card [CARD_1].")
        #expect(redactor.replacements["[EMAIL_1]"] == "John.Smith@Example.co.uk")
    }

    @Test(
        "Kazakh, Russian and international phone formats are masked whole",
        arguments: [
            "+7 701 123 45 67", "+7 (701) 123-45-67", "8 701 123 45 67", "87011234567", "+77011234567", "8(727)2501234",
            "8 (7172) 50-12-34", "(727) 250-12-34", "+44 20 7946 0958", "+1 (650) 253-0000", "+49 30 12345678", "+86.138.0013.8000",
        ]
    )
    func phoneFormats(phone: String) {
        var redactor = PIIRedactor()
        #expect(redactor.redact("Звоните: \(phone)!") == "Звоните: [PHONE_1]!")
        #expect(redactor.redact("(\(phone))") == "([PHONE_1])")
        #expect(redactor.replacements == ["[PHONE_1]": phone])
    }

    @Test(
        "card numbers are masked contiguous or grouped by spaces or hyphens",
        arguments: [
            "4111 1111 1111 1111", "4111-1111-1111-1111", "5500005555555559", "378282246310005", "3782 822463 10005", "6011000990139424",
        ]
    )
    func cardFormats(card: String) {
        var redactor = PIIRedactor()
        #expect(redactor.redact("Оплатил картой \(card), спасибо") == "Оплатил картой [CARD_1], спасибо")
        #expect(redactor.counts == [.card: 1])
    }

    @Test("an email keeps the sentence's punctuation, brackets and Cyrillic outside it")
    func emailEdges() {
        var redactor = PIIRedactor()
        let text = "Пишите на dana.k+crm@mail.example.kz. Или (ops_team@corp.kz), или «help@site.ru»!"
        #expect(redactor.redact(text) == "Пишите на [EMAIL_1]. Или ([EMAIL_2]), или «[EMAIL_3]»!")
        #expect(redactor.replacements["[EMAIL_1]"] == "dana.k+crm@mail.example.kz")
    }

    @Test(
        "a phone beside other numbers is masked whole and the numbers beside it are kept",
        arguments: [
            ("кв. 12 8 701 123 45 67", "кв. 12 [PHONE_1]"), ("Квартира 12 8 701 123 45 67 2 шт", "Квартира 12 [PHONE_1] 2 шт"),
            ("2026-11-24 8 701 123 45 67", "2026-11-24 [PHONE_1]"), ("в 10:30 87011234567", "в 10:30 [PHONE_1]"),
            ("+7 701 123 45 67 2026-11-24", "[PHONE_1] 2026-11-24"), ("1) 8 701 123 45 67", "1) [PHONE_1]"),
        ]
    )
    func phoneBesideNumbers(text: String, expected: String) {
        var redactor = PIIRedactor()
        #expect(redactor.redact(text) == expected)
    }

    @Test("a pasted table row with identifiers between commas has each one masked")
    func tableRow() {
        var fake = Fake(seed: 9)
        let iin = fake.iin()
        var redactor = PIIRedactor()
        let row = "Иванова,\(iin),87011234567,dana@example.kz,4111111111111111,IIN\(iin)"
        #expect(redactor.redact(row) == "Иванова,[IIN_1],[PHONE_1],[EMAIL_1],[CARD_1],IIN[IIN_1]")
    }

    // MARK: Consistency

    @Test("one phone written two ways gets one placeholder across the messages of a conversation")
    func samePhoneTwoWays() {
        var redactor = PIIRedactor()
        #expect(redactor.redact("Мой номер +7 701 123 45 67") == "Мой номер [PHONE_1]")
        let second = redactor.redact("Повторю: 87011234567, а рабочий 8 (727) 250-12-34")
        #expect(second == "Повторю: [PHONE_1], а рабочий [PHONE_2]")
        #expect(redactor.redact("ещё раз +7 (701) 123-45-67") == "ещё раз [PHONE_1]")
        #expect(redactor.replacements == ["[PHONE_1]": "+7 701 123 45 67", "[PHONE_2]": "8 (727) 250-12-34"])
        #expect(redactor.counts == [.phone: 4])
    }

    @Test("one email in different case, card or IIN written differently get one placeholder; different values get the next numbers")
    func sameValueSamePlaceholder() {
        var fake = Fake(seed: 3)
        let card = fake.card()
        let otherCard = fake.card()
        let iin = fake.iin()
        var redactor = PIIRedactor()
        let first = redactor.redact("dana@example.kz, \(card), \(iin)")
        let second = redactor.redact(
            "DANA@Example.KZ, \(Fake.grouped(card, sizes: [4, 4, 4, 4], separator: "-")), \(iin), bob@example.kz, \(otherCard)"
        )
        #expect(first == "[EMAIL_1], [CARD_1], [IIN_1]")
        #expect(second == "[EMAIL_1], [CARD_1], [IIN_1], [EMAIL_2], [CARD_2]")
        #expect(redactor.replacements["[EMAIL_1]"] == "dana@example.kz")
        #expect(redactor.replacements["[CARD_1]"] == card)
    }

    @Test("placeholders are numbered per kind in order of first appearance and are never masked again")
    func numbering() {
        var redactor = PIIRedactor()
        let text = "a@x.kz 87011234567 b@x.kz 4111111111111111 a@x.kz c@x.kz"
        let redacted = redactor.redact(text)
        #expect(redacted == "[EMAIL_1] [PHONE_1] [EMAIL_2] [CARD_1] [EMAIL_1] [EMAIL_3]")
        #expect(redactor.redact(redacted) == redacted)
        #expect(redactor.counts == [.email: 4, .phone: 1, .card: 1])
    }

    // MARK: What is not an identifier

    @Test(
        "numbers that are not identifiers are left alone",
        arguments: [
            "Итого 150000 тенге", "Цена 1 500 000 ₸, а всего 15 000 000 000 тенге", "Встреча 2026-11-24 в 10:30",
            "Встреча 2026-11-24 10:30, потом 24.11.2026 9.30", "Заказ №12345678 и № 4521", "Заказ 1234567890 от 2025 года",
            "Счёт 12345678901234567890", "Курс 1 USD = 503.25 тенге", "в 2024 2025 2026 годах", "ISBN 978-5-17-118366-3",
            "строка 1 2 3 4 5 6 7 8 9 1 2 3 4 5 6", "card 4111111111111112", "card 4111 1111 1111 1112", "ИИН 123456789012",
        ]
    )
    func notIdentifiers(text: String) {
        var redactor = PIIRedactor()
        #expect(redactor.redact(text) == text)
        #expect(redactor.counts.isEmpty)
    }

    @Test("a 12-digit run with a bad IIN checksum and a 16-digit run failing Luhn are left alone")
    func badChecksums() {
        var fake = Fake(seed: 4)
        for _ in 0..<50 {
            let badIIN = Fake.changingLastDigit(fake.iin())
            let badCard = Fake.changingLastDigit(fake.card())
            let text = "ИИН \(badIIN), карта \(badCard), \(Fake.grouped(badCard, sizes: [4, 4, 4, 4], separator: " "))"
            var redactor = PIIRedactor()
            #expect(redactor.redact(text) == text)
        }
    }

    @Test("text with nothing to mask comes back byte for byte")
    func unchangedText() {
        let texts = [
            "", "Здравствуйте! Сколько стоит доставка в Алматы? 🙂👍🏽", "line one\r\nline two\n\tindented", "e\u{301}cole, café, Ωμέγα",
            "Напишите @dana_support в Telegram", "адрес a@b, user@localhost и почта@пример.рф", "до 31.12.2025, тел. нет",
        ]
        for text in texts {
            var redactor = PIIRedactor()
            #expect(Array(redactor.redact(text).utf8) == Array(text.utf8))
            #expect(redactor.replacements.isEmpty)
        }
    }

    // MARK: Validators

    @Test("generated IINs are valid; a wrong date, century digit, check digit or length is not")
    func iinValidation() {
        var fake = Fake(seed: 5)
        for _ in 0..<200 {
            let iin = fake.iin()
            #expect(PIIRedactor.isValidIIN(iin))
            #expect(!PIIRedactor.isValidIIN(Fake.changingLastDigit(iin)))
        }
        // Each change keeps the check digit right, so only the rule it breaks can fail it.
        let iin = fake.iin()
        #expect(!PIIRedactor.isValidIIN(Fake.withCheckDigit(Fake.replacing(iin, at: 2, with: "13"))))
        #expect(!PIIRedactor.isValidIIN(Fake.withCheckDigit(Fake.replacing(iin, at: 4, with: "00"))))
        #expect(!PIIRedactor.isValidIIN(Fake.withCheckDigit(Fake.replacing(iin, at: 4, with: "32"))))
        #expect(!PIIRedactor.isValidIIN(Fake.withCheckDigit(Fake.replacing(iin, at: 6, with: "7"))))
        #expect(!PIIRedactor.isValidIIN(String(iin.dropLast())))
        #expect(!PIIRedactor.isValidIIN(iin + "0"))
        #expect(!PIIRedactor.isValidIIN(String(iin.dropLast()) + "x"))
    }

    @Test("the second weighting decides when the first gives 10, and a number where both give 10 is invalid")
    func iinSecondWeighting() {
        var fake = Fake(seed: 6)
        var secondDecides: String?
        var neither: String?
        while secondDecides == nil || neither == nil {
            let digits = fake.iinPrefix()
            guard Fake.weightedSum(digits, Fake.firstWeights) == 10 else { continue }
            let second = Fake.weightedSum(digits, Fake.secondWeights)
            let text = digits.map(String.init).joined()
            if second == 10 {
                neither = neither ?? text + "0"
            } else {
                secondDecides = secondDecides ?? text + String(second)
            }
        }
        #expect(PIIRedactor.isValidIIN(secondDecides!))
        for last in 0...9 {
            #expect(!PIIRedactor.isValidIIN(String(neither!.dropLast()) + String(last)))
        }
    }

    @Test("Luhn accepts valid card numbers and rejects changed ones, empty text and non-digits")
    func luhn() {
        #expect(PIIRedactor.isLuhnValid("4111111111111111"))
        #expect(PIIRedactor.isLuhnValid("79927398713"))
        #expect(!PIIRedactor.isLuhnValid("4111111111111112"))
        #expect(!PIIRedactor.isLuhnValid(""))
        #expect(!PIIRedactor.isLuhnValid("4111 1111 1111 1111"))
        var fake = Fake(seed: 7)
        for _ in 0..<200 {
            #expect(PIIRedactor.isLuhnValid(fake.card()))
        }
    }

    // MARK: Generated conversations

    @Test("in 200 generated messages exactly the embedded identifiers are masked, and restoring the placeholders gives the message back")
    func generatedMessages() {
        var fake = Fake(seed: 2026)
        var conversation = PIIRedactor()
        for _ in 0..<200 {
            let identifiers = fake.identifiers()
            let message = fake.message(around: identifiers.map(\.text))
            var redactor = PIIRedactor()
            let redacted = redactor.redact(message)
            for identifier in identifiers {
                #expect(!redacted.contains(identifier.text), "\(identifier.text) leaked from: \(message)")
                #expect(!redacted.contains(identifier.secret), "\(identifier.secret) leaked from: \(message)")
            }
            #expect(Set(redactor.replacements.values) == Set(identifiers.map(\.text)), "in: \(message)")
            #expect(redactor.counts == [.iin: 1, .card: 1, .phone: 1, .email: 1], "in: \(message)")
            var restored = redacted
            for (placeholder, original) in redactor.replacements {
                restored = restored.replacing(placeholder, with: original)
            }
            #expect(restored == message)
            _ = conversation.redact(message)
        }
        #expect(conversation.counts == [.iin: 200, .card: 200, .phone: 200, .email: 200])
    }

    @Test("a 4 KB message and adversarial runs of digits, separators and at-signs are redacted quickly")
    func speed() {
        var fake = Fake(seed: 8)
        var message = ""
        while message.utf8.count < 4096 {
            let identifiers = fake.identifiers()
            message += fake.message(around: identifiers.map(\.text)) + "\n"
        }
        let texts = [
            message, String(repeating: "1 ", count: 2048), String(repeating: "8 701 123 45 67 ", count: 256),
            String(repeating: "4111 ", count: 820), String(repeating: "a@", count: 2048), String(repeating: "a.", count: 2048) + "@x.kz",
            String(repeating: "7", count: 4096), String(repeating: "+(", count: 2048),
        ]
        let clock = ContinuousClock()
        for text in texts {
            var redactor = PIIRedactor()
            let elapsed = clock.measure {
                for _ in 0..<10 { _ = redactor.redact(text) }
            }
            // A bound for unoptimized builds on a busy machine, far above linear time (a release
            // build takes well under a millisecond a call) and far below quadratic.
            #expect(elapsed < .seconds(2), "\(elapsed) for ten times \(text.prefix(40))…")
        }
    }
}

/// Identifiers valid by construction, from a seeded generator so that a failure can be replayed.
private struct Fake {
    struct Identifier {
        /// As written in the message.
        var text: String
        /// What must not survive redaction: the digits of a number, or the email itself.
        var secret: String
    }

    static let firstWeights = Array(1...11)
    static let secondWeights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]

    var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(state: seed)
    }

    /// The first 11 digits of an IIN: a birth date (day 01–28 so every month has it), a century
    /// digit and a serial number.
    mutating func iinPrefix() -> [Int] {
        let year = Int.random(in: 0...99, using: &random)
        let month = Int.random(in: 1...12, using: &random)
        let day = Int.random(in: 1...28, using: &random)
        let serial = (0..<4).map { _ in Int.random(in: 0...9, using: &random) }
        return [year / 10, year % 10, month / 10, month % 10, day / 10, day % 10, Int.random(in: 0...6, using: &random)] + serial
    }

    static func weightedSum(_ digits: [Int], _ weights: [Int]) -> Int {
        zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 } % 11
    }

    /// The IIN check digit of 11 digits, or nil when both weightings give 10.
    static func checkDigit(_ digits: [Int]) -> Int? {
        let first = weightedSum(digits, firstWeights)
        guard first == 10 else { return first }
        let second = weightedSum(digits, secondWeights)
        return second == 10 ? nil : second
    }

    mutating func iin() -> String {
        while true {
            let digits = iinPrefix()
            if let check = Self.checkDigit(digits) { return (digits + [check]).map(String.init).joined() }
        }
    }

    /// `iin` with its last digit recomputed from the first 11 (or "0" where no check digit exists).
    static func withCheckDigit(_ iin: String) -> String {
        let digits = iin.dropLast().map { Int(String($0))! }
        return iin.dropLast() + String(checkDigit(digits) ?? 0)
    }

    static func replacing(_ text: String, at offset: Int, with replacement: String) -> String {
        String(text.prefix(offset)) + replacement + text.dropFirst(offset + replacement.count)
    }

    /// A 16-digit Luhn-valid card number of Visa, Mastercard or Mir.
    mutating func card() -> String {
        var digits = ["4", "51", "55", "2200"].randomElement(using: &random)!.map { Int(String($0))! }
        while digits.count < 15 { digits.append(Int.random(in: 0...9, using: &random)) }
        let sum = digits.reversed().enumerated().reduce(0) { sum, item in
            let doubled = item.element * 2
            return sum + (item.offset.isMultiple(of: 2) ? (doubled > 9 ? doubled - 9 : doubled) : item.element)
        }
        return (digits + [(10 - sum % 10) % 10]).map(String.init).joined()
    }

    /// A Kazakh mobile number in one of the ways people write it.
    mutating func phone() -> String {
        let code = ["701", "702", "705", "707", "747", "771", "775", "777", "778"].randomElement(using: &random)!
        let n = Array((0..<7).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined())
        let (a, b, c) = (String(n[0..<3]), String(n[3..<5]), String(n[5..<7]))
        return [
            "+7 \(code) \(a) \(b) \(c)", "+7 (\(code)) \(a)-\(b)-\(c)", "8 \(code) \(a) \(b) \(c)", "8\(code)\(a)\(b)\(c)",
            "+7\(code)\(a)\(b)\(c)", "8(\(code))\(a)\(b)\(c)", "8-\(code)-\(a)-\(b)-\(c)",
        ].randomElement(using: &random)!
    }

    mutating func email() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let name = String((0..<Int.random(in: 3...8, using: &random)).map { _ in letters.randomElement(using: &random)! })
        let suffix = ["", ".k", "_22", "+crm", "-1990"].randomElement(using: &random)!
        let domain = ["example.kz", "mail.ru", "gmail.com", "corp.example.com"].randomElement(using: &random)!
        return name + suffix + "@" + domain
    }

    /// One identifier of each kind in random order; the card written whole or grouped by spaces or hyphens.
    mutating func identifiers() -> [Identifier] {
        let card = card()
        let separator = ["", " ", "-"].randomElement(using: &random)!
        let written = Self.grouped(card, sizes: [4, 4, 4, 4], separator: separator)
        let iin = iin()
        let phone = phone()
        let email = email()
        return [
            Identifier(text: iin, secret: iin), Identifier(text: written, secret: card),
            Identifier(text: phone, secret: String(phone.filter(\.isNumber).suffix(10))), Identifier(text: email, secret: email),
        ].shuffled(using: &random)
    }

    /// The identifiers in chat filler: Russian, Kazakh and English words, prices, dates, emoji and line breaks.
    mutating func message(around identifiers: [String]) -> String {
        let filler = [
            "Здравствуйте!", "Сәлеметсіз бе,", "Hello,", "заказ №4521 на 150000 тенге", "встреча 2026-11-24 в 10:30", "оплата 25 000",
            "150000 тенге оплачено", "🙂", "\n", "цена 1 500 000 ₸", "в 2025 году", "Рахмет!", "please call back", "до 31.12.2025",
        ]
        let wrappers: [(String) -> String] = [{ $0 }, { "(\($0))" }, { "\($0)." }, { "\($0)," }, { "«\($0)»" }, { "мой: \($0)" }]
        var parts: [String] = []
        for identifier in identifiers {
            parts.append(filler.randomElement(using: &random)!)
            parts.append(wrappers.randomElement(using: &random)!(identifier))
        }
        parts.append(filler.randomElement(using: &random)!)
        return parts.joined(separator: " ")
    }

    static func grouped(_ digits: String, sizes: [Int], separator: String) -> String {
        var rest = Substring(digits)
        return sizes.map { size in
            defer { rest = rest.dropFirst(size) }
            return String(rest.prefix(size))
        }.joined(separator: separator)
    }

    static func changingLastDigit(_ digits: String) -> String {
        let last = Int(String(digits.last!))!
        return digits.dropLast() + String((last + 1) % 10)
    }
}

private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
