import Testing
@testable import MailMIME

@Suite struct HeaderTests {
    @Test func unfoldsAndKeepsRepeatedFieldsInOrder() throws {
        let raw = Fixture.crlf("Received: one\n two\nreceived: three\nSUBJECT: x\n\nbody")
        let message = try MailMessage(parsing: raw)
        #expect(message.headers.values("RECEIVED") == ["one two", "three"])
        #expect(message.subject == "x")
        #expect(message.text == "body")
    }

    @Test func gmailHeaders() throws {
        let message = try MailMessage(parsing: Fixture.gmailAlternative)
        #expect(message.subject == "Отчёт за квартал — итоги")
        #expect(message.from == [MailAddress(name: "Doe, Jane", address: "jane.doe@gmail.com")])
        #expect(message.to == [
            MailAddress(name: "Support", address: "support@example.com"),
            MailAddress(name: "Bob Smith", address: "bob@example.org"),
        ])
        #expect(message.messageID == "CAF=abc123+XyZ@mail.gmail.com")
        #expect(message.autoReplyReason == nil)
    }

    @Test func encodedWordsSplitInsideACharacterJoin() {
        let decoded = EncodedWords.decode("=?UTF-8?B?0KHT?= =?UTF-8?B?mdC70LXQvCwg05nQu9C10LwhINKa0LDQu9Cw0LnRgdGL0Lc/?=")
        #expect(decoded.text == "Сәлем, әлем! Қалайсыз?")
        #expect(EncodedWords.decode("=?utf-8?q?a_b?= =?utf-8?q?c?= and =?iso-8859-1?q?caf=E9?=").text == "a bc and café")
        #expect(EncodedWords.decode("no =?broken words").text == "no =?broken words")
    }

    @Test func unknownCharsetInSubjectIsFlagged() throws {
        let message = try MailMessage(parsing: Fixture.crlf("Subject: =?x-unknown?Q?hi?=\n\nbody"))
        #expect(message.subject == "hi")
        #expect(message.usedCharsetFallback)
    }

    @Test func addressEdgeCases() {
        let list = MailAddress.parseList(
            #""Smith, \"J\"" <j@x.com>, (c) plain@y.com, Group: a@z.com, <b@z.com>;, , =?koi8-r?Q?=F0=C5=D4=D2?= <p@r.ru>"#,
            limit: 100
        )
        #expect(list.map(\.address) == ["j@x.com", "plain@y.com", "a@z.com", "b@z.com", "p@r.ru"])
        #expect(list.first?.name == #"Smith, "J""#)
        #expect(list.last?.name == "Петр")
        #expect(MailAddress.parseList("<<<>>>,,,(((", limit: 10).isEmpty)
    }

    @Test func threadIDs() throws {
        let message = try MailMessage(parsing: Fixture.outlookHTML)
        #expect(message.inReplyTo == ["first@example.com"])
        #expect(message.references == ["root@example.com", "first@example.com"])
        #expect(message.from.first?.name == "Иван Петров")
    }
}

@Suite struct BodyTests {
    @Test func gmailPrefersPlainAndDecodesQuotedPrintable() throws {
        let message = try MailMessage(parsing: Fixture.gmailAlternative)
        #expect(message.text == "Привет! This line is long enough to be wrapped by the encoder, and a=b stays.\n")
        #expect(!message.textIsFromHTML)
        #expect(message.attachments.isEmpty)
        #expect(message.warnings.isEmpty)
    }

    @Test func outlookHTMLOnly() throws {
        let message = try MailMessage(parsing: Fixture.outlookHTML)
        #expect(message.textIsFromHTML)
        #expect(message.text == "Hello & welcome,\nthe price is <10> \"EUR\" today € A.\n\nSecond paragraph")
    }

    @Test func koi8r() throws {
        let message = try MailMessage(parsing: Fixture.koi8)
        #expect(message.text == "Привет, мир! Ёжик съел щи.\n")
        #expect(message.from.first?.name == "Петр")
        #expect(!message.usedCharsetFallback)
    }

    @Test func windows1251() throws {
        let message = try MailMessage(parsing: Fixture.cp1251)
        #expect(message.text == "Привет, мир! Ёжик съел щи.")
    }

    @Test func latin1AndUnknownCharset() throws {
        let latin = try MailMessage(parsing: Fixture.crlf("Content-Type: text/plain; charset=ISO-8859-1\n\n") + [0x63, 0x61, 0x66, 0xE9])
        #expect(latin.text == "café")
        let unknown = try MailMessage(parsing: Fixture.crlf("Content-Type: text/plain; charset=x-mac-klingon\n\nqapla'"))
        #expect(unknown.text == "qapla'")
        #expect(unknown.usedCharsetFallback)
        #expect(unknown.warnings.contains { $0.contains("x-mac-klingon") })
    }

    @Test func base64IgnoresWhitespaceAndSkipsGarbage() {
        #expect(TransferEncoding.base64(Array("SGVs\r\n bG8=".utf8)).bytes == Array("Hello".utf8))
        let broken = TransferEncoding.base64(Array("SGV*sbG8!!".utf8))
        #expect(broken.bytes == Array("Hello".utf8))
        #expect(broken.warning != nil)
    }

    @Test func quotedPrintableSoftBreaksAndStrayEquals() {
        #expect(TransferEncoding.quotedPrintable(Array("a=  \r\nb=\nc=3D=ZZ=".utf8)) == Array("abc==ZZ".utf8))
    }
}

@Suite struct MultipartTests {
    @Test func nestedMixedWithRFC2231Attachment() throws {
        let message = try MailMessage(parsing: Fixture.attachment2231)
        #expect(message.subject == "Сәлем, әлем! Қалайсыз?")
        #expect(message.text == "See attached.")
        #expect(message.attachments.count == 2)
        let pdf = try #require(message.attachments.first)
        #expect(pdf.filename == "Отчёт №2.pdf")
        #expect(pdf.contentType == "application/pdf")
        #expect(pdf.size == 13)
        #expect(pdf.content == Array("%PDF-1.4 fake".utf8))
        #expect(!pdf.isInline)
        let image = try #require(message.attachments.last)
        #expect(image.filename == "Отчёт.png")
        #expect(image.isInline)
        #expect(image.contentID == "img1@local")
        #expect(message.warnings.isEmpty)
    }

    @Test func rfc2231Continuations() {
        let p = HeaderParameters(#"attachment; filename*0*=utf-8'ru'%D0%9E%D1%82; filename*1="chet.txt""#)
        #expect(p["filename"] == "Отchet.txt")
        #expect(p.value == "attachment")
    }
}

@Suite struct AutoReplyTests {
    @Test func autoSubmitted() throws {
        let message = try MailMessage(parsing: Fixture.autoReply)
        #expect(message.autoReplyReason == "Auto-Submitted: auto-replied")
    }

    @Test func otherSignals() throws {
        func reason(_ header: String) throws -> String? {
            try MailMessage(parsing: Fixture.crlf("From: a@b.c\n\(header)\n\nx")).autoReplyReason
        }
        #expect(try reason("Auto-Submitted: no") == nil)
        #expect(try reason("X-Autorespond: 1") == "X-Autorespond")
        #expect(try reason("Precedence: Bulk") == "Precedence: bulk")
        #expect(try reason("List-Id: <dev.lists.example.com>") == "List-Id")
        #expect(try reason("Precedence: first-class") == nil)
    }

    @Test func deliveryStatusNotification() throws {
        let message = try MailMessage(parsing: Fixture.bounce)
        #expect(message.autoReplyReason == "delivery status notification")
        #expect(message.text == "Address not found: nobody@example.net")
        #expect(message.attachments.map(\.contentType) == ["message/delivery-status"])
    }
}

@Suite struct ReplyTrimmingTests {
    @Test func cutsSignatureAndQuotedHistory() throws {
        let message = try MailMessage(parsing: Fixture.replyWithHistory)
        #expect(message.replyText == "Thanks, that works.\nCan you also send the invoice?")
        #expect(message.text.contains("> Here is your order."))
        #expect(message.references == ["root@example.com", "a@example.com"])
    }

    @Test func replyHeaders() {
        #expect(ReplyTrimmer.replyText("Да.\n\n7 дек. 2026 г., в 10:00, Иван <i@x.ru> написал(а):\n> Вопрос") == "Да.")
        #expect(ReplyTrimmer.replyText("Ok\n\n-----Original Message-----\nFrom: x\nSent: y\n\nold") == "Ok")
        #expect(ReplyTrimmer.replyText("Ok\n________________________________\nFrom: x <x@y>\nSent: Monday\nTo: z\n\nold") == "Ok")
        #expect(ReplyTrimmer.replyText("Ok\nFrom: Jane\nSent: Monday\nSubject: old") == "Ok")
        #expect(ReplyTrimmer.replyText("Fine\n> quoted\n>more\n\n") == "Fine")
        #expect(ReplyTrimmer.replyText("> all quoted") == "> all quoted")
        #expect(ReplyTrimmer.replyText("From: the beginning, this is a sentence.") == "From: the beginning, this is a sentence.")
    }
}

@Suite struct HostileInputTests {
    @Test func noClosingBoundaryKeepsWhatArrived() throws {
        let raw = Fixture.crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\npart one")
        let message = try MailMessage(parsing: raw)
        #expect(message.text == "part one")
        #expect(message.warnings.contains { $0.contains("closing boundary") })
    }

    @Test func thousandNestedPartsAreRefused() {
        var raw = "From: a@b.c\n"
        for level in 0..<1000 {
            raw += "Content-Type: multipart/mixed; boundary=b\(level)\n\n--b\(level)\n"
        }
        raw += "Content-Type: text/plain\n\nhi\n"
        #expect(throws: MailError.self) { try MailMessage(parsing: Fixture.crlf(raw)) }
        do {
            _ = try MailMessage(parsing: Fixture.crlf(raw))
        } catch {
            #expect(error.kind == .tooComplex)
        }
    }

    @Test func thousandSiblingPartsAreRefused() {
        var raw = "From: a@b.c\nContent-Type: multipart/mixed; boundary=b\n\n"
        for _ in 0..<1000 { raw += "--b\nContent-Type: text/plain\n\nx\n" }
        raw += "--b--\n"
        #expect(throws: MailError.self) { try MailMessage(parsing: Fixture.crlf(raw)) }
    }

    @Test func invalidBase64GivesAShortAttachment() throws {
        let raw = Fixture.crlf("From: a@b.c\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n!!!@@@###\n\u{1}\u{2}A")
        let message = try MailMessage(parsing: raw)
        #expect(message.attachments.count == 1)
        #expect(message.attachments.first?.size == 0)
        #expect(!message.warnings.isEmpty)
    }

    @Test func megabyteHeaderLineIsRefused() {
        let raw = Array("Subject: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000) + Array("\r\n\r\nbody".utf8)
        #expect(throws: MailError.self) { try MailMessage(parsing: raw) }
    }

    @Test func megabyteHeaderWithoutLineBreaksIsRefused() {
        let raw = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(throws: MailError.self) { try MailMessage(parsing: raw) }
    }

    @Test func nulBytesAreCarriedNotTrapped() throws {
        let raw = Fixture.crlf("Subject: a\u{0}b\nFrom: x\u{0}@y.z\n\nbody\u{0}end")
        let message = try MailMessage(parsing: raw)
        #expect(message.subject == "a\u{0}b")
        #expect(message.text == "body\u{0}end")
    }

    @Test func emptyAndGarbageInput() {
        #expect(throws: MailError.self) { try MailMessage(parsing: []) }
        #expect(throws: MailError.self) { try MailMessage(parsing: Array("\r\n\r\n".utf8)) }
        #expect(throws: MailError.self) { try MailMessage(parsing: [0xFF, 0xFE, 0x00, 0x0A]) }
    }

    @Test func truncatedEncodedWordsAndEntities() {
        #expect(EncodedWords.decode("=?").text == "=?")
        #expect(EncodedWords.decode("=?utf-8?").text == "=?utf-8?")
        #expect(EncodedWords.decode("=?utf-8?B?").text == "=?utf-8?B?")
        #expect(HTMLText.plainText("<a href=\"x>y") == "")
        #expect(HTMLText.plainText("&#1114112; &#xD800; &; &") == "\u{FFFD} \u{FFFD} &; &")
        #expect(HTMLText.plainText("<script>never closed") == "")
    }

    @Test func tooLargeMessageIsRefused() {
        var limits = MailLimits()
        limits.messageBytes = 10
        #expect(throws: MailError.self) { try MailMessage(parsing: Array("Subject: long enough\r\n\r\n".utf8), limits: limits) }
    }
}
