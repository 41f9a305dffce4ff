import Foundation
import MailMIME
import Testing

@Suite("Outgoing mail")
struct OutgoingMailTests {
    let date = Date(timeIntervalSince1970: 1_796_670_000)

    @Test("a reply renders 7-bit, with the threading headers, and reads back as written")
    func roundTrip() throws {
        let mail = OutgoingMail(
            from: MailAddress(name: "Kofe Shop", address: "hello@kofe.kz"),
            to: [MailAddress(name: "Айгерим Нурланова", address: "aigerim@example.kz")],
            subject: OutgoingMail.replySubject("RE: Re: Доставка в Шымкент"),
            text: "Здравствуйте!\nДа, доставляем. Қазақша да жауап береміз.\n.точка в начале строки",
            messageID: "sb.1@kofe.kz", inReplyTo: "m2@example.kz", references: ["m1@example.kz", "m2@example.kz"], date: date,
            isAutomatic: true
        )
        let raw = mail.rendered()
        #expect(raw.allSatisfy { $0 < 0x80 }, "7-bit throughout")
        let lines = String(decoding: raw, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        let read = try MailMessage(parsing: raw)
        #expect(read.subject == "Re: Доставка в Шымкент")
        #expect(read.messageID == "sb.1@kofe.kz")
        #expect(read.inReplyTo == ["m2@example.kz"])
        #expect(read.references == ["m1@example.kz", "m2@example.kz"])
        #expect(read.from.first?.address == "hello@kofe.kz")
        #expect(read.to.first?.name == "Айгерим Нурланова")
        #expect(read.text.contains("Қазақша да жауап береміз."))
        #expect(read.headers.first("Auto-Submitted") == "auto-replied")
        #expect(read.headers.first("Date") == "Mon, 07 Dec 2026 19:00:00 +0000")
    }

    @Test("a CR or LF in a name, a subject or an id cannot add a header")
    func noInjection() throws {
        let mail = OutgoingMail(
            from: MailAddress(name: "Shop\r\nBcc: victim@example.com", address: "hello@kofe.kz"),
            to: [MailAddress(name: nil, address: "a@example.kz\r\nX-Evil: 1")],
            subject: "Hi\r\nBcc: victim@example.com", text: "plain ascii", messageID: "id@x\r\nX-Evil: 2", date: date
        )
        let read = try MailMessage(parsing: mail.rendered())
        #expect(read.headers.first("Bcc") == nil)
        #expect(read.headers.first("X-Evil") == nil)
        #expect(read.headers.first("Content-Transfer-Encoding") == "7bit")
    }

    @Test("reply subjects and thread titles lose their Re:, Fwd: and translations, once")
    func subjects() {
        #expect(OutgoingMail.replySubject("Order 17") == "Re: Order 17")
        #expect(OutgoingMail.replySubject("Re: Order 17") == "Re: Order 17")
        #expect(MailSubject.normalized("RE: Fwd: Отв:  Order   17") == "Order 17")
        #expect(MailSubject.normalized("Re[2]: AW: Заказ") == "Заказ")
        #expect(MailSubject.normalized("Reminder: pay") == "Reminder: pay")
        #expect(OutgoingMail.replySubject(nil) == "Re:")
    }
}
