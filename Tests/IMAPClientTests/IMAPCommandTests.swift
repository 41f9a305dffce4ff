@testable import IMAPClient
import Testing

@Suite("Encoding commands")
struct IMAPCommandTests {
    func wire(_ command: IMAPCommand, literalPlus: Bool = false) throws -> [String] {
        try command.encode(tag: "A0001", literalPlus: literalPlus).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    @Test("LOGIN sends plain credentials as atoms and odd ones quoted with escapes")
    func loginQuoting() throws {
        #expect(try wire(.login(user: "bob", password: "secret")) == ["A0001 LOGIN bob secret\r\n"])
        #expect(try wire(.login(user: "bob@example.com", password: "p a\"s\\s")) == ["A0001 LOGIN bob@example.com \"p a\\\"s\\\\s\"\r\n"])
        #expect(try wire(.login(user: "", password: "x")) == ["A0001 LOGIN \"\" x\r\n"])
    }

    @Test("8-bit passwords go as synchronising literals, or LITERAL+ without the round trip")
    func loginLiteral() throws {
        let parts = try IMAPCommand.login(user: "bob", password: "pässword").encode(tag: "A0001", literalPlus: false)
        #expect(parts.count == 2)
        #expect(parts[0] == IMAPCommand.Part(bytes: Array("A0001 LOGIN bob {9}\r\n".utf8), awaitsContinuation: true))
        #expect(parts[1] == IMAPCommand.Part(bytes: Array("pässword\r\n".utf8), awaitsContinuation: false))
        #expect(try wire(.login(user: "bob", password: "pässword"), literalPlus: true) == ["A0001 LOGIN bob {9+}\r\n", "pässword\r\n"])
    }

    @Test("a NUL byte cannot be sent and the error does not echo it")
    func nul() {
        #expect(throws: IMAPError.self) { try wire(.login(user: "bob", password: "se\0cret")) }
        do {
            _ = try wire(.login(user: "bob", password: "se\0cret"))
        } catch {
            #expect(!String(describing: error).contains("cret"))
        }
    }

    @Test("EXAMINE encodes the mailbox in modified UTF-7")
    func examine() throws {
        #expect(try wire(.examine(mailbox: "INBOX")) == ["A0001 EXAMINE INBOX\r\n"])
        #expect(try wire(.examine(mailbox: "Entwürfe")) == ["A0001 EXAMINE Entw&APw-rfe\r\n"])
        #expect(try wire(.examine(mailbox: "Sent Items")) == ["A0001 EXAMINE \"Sent Items\"\r\n"])
    }

    @Test("search, fetch, SASL and the plain commands read as RFC 3501 writes them")
    func others() throws {
        #expect(try wire(.uidSearchFrom(5)) == ["A0001 UID SEARCH UID 5:*\r\n"])
        #expect(try wire(.uidFetch(set: "1:3,7", maximumBytes: 1_048_576)) == ["A0001 UID FETCH 1:3,7 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.1048576>)\r\n"])
        #expect(try wire(.authenticate(mechanism: "PLAIN", initialResponse: "AGJvYgBzZWNyZXQ=")) == ["A0001 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n"])
        #expect(try wire(.authenticate(mechanism: "PLAIN", initialResponse: nil)) == ["A0001 AUTHENTICATE PLAIN\r\n"])
        #expect(try wire(.authenticate(mechanism: "X", initialResponse: "")) == ["A0001 AUTHENTICATE X =\r\n"])
        #expect(try wire(.idle) == ["A0001 IDLE\r\n"])
        #expect(try wire(.noop) == ["A0001 NOOP\r\n"])
        #expect(try wire(.logout) == ["A0001 LOGOUT\r\n"])
        #expect(try wire(.startTLS) == ["A0001 STARTTLS\r\n"])
        #expect(try wire(.capability) == ["A0001 CAPABILITY\r\n"])
    }

    @Test("UID sets are compact, sorted and deduplicated")
    func sequenceSets() {
        #expect(IMAPSequenceSet.compact([3, 1, 2, 7, 9, 10, 10]) == "1:3,7,9:10")
        #expect(IMAPSequenceSet.compact([5]) == "5")
        #expect(IMAPSequenceSet.compact([UInt32.max - 1, UInt32.max]) == "4294967294:4294967295")
        #expect(IMAPSequenceSet.compact([]) == "")
    }

    @Test("modified UTF-7 matches RFC 3501's examples")
    func mailboxNames() {
        #expect(IMAPMailboxName.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
        #expect(IMAPMailboxName.encode("A&B") == "A&-B")
        #expect(IMAPMailboxName.encode("Входящие") == "&BBIERQQ+BDQETwRJBDgENQ-")
        #expect(IMAPMailboxName.encode("😀") == "&2D3eAA-")
    }
}
