import MailMIME
import Testing

@Suite("Attachments read without decoding")
struct AttachmentSizeTests {
    @Test("without decoding, an attachment has its name, type and the size decoding would give, and no bytes")
    func sizesWithoutDecoding() throws {
        var limits = MailLimits()
        limits.decodesAttachments = false
        let decoded = try MailMessage(parsing: Fixture.attachment2231)
        let counted = try MailMessage(parsing: Fixture.attachment2231, limits: limits)
        #expect(counted.attachments.map(\.filename) == decoded.attachments.map(\.filename))
        #expect(counted.attachments.map(\.contentType) == decoded.attachments.map(\.contentType))
        #expect(counted.attachments.map(\.size) == decoded.attachments.map(\.size))
        #expect(decoded.attachments.allSatisfy { !$0.content.isEmpty })
        #expect(counted.attachments.allSatisfy { $0.content.isEmpty })
        #expect(counted.text == decoded.text, "text parts are decoded all the same")
    }
}
