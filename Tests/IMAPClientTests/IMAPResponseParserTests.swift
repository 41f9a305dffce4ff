import Foundation
@testable import IMAPClient
import Testing

@Suite("Reading server responses")
struct IMAPResponseParserTests {
    @Test("a Dovecot session reads greeting, EXAMINE, SEARCH and a partial FETCH")
    func dovecotSession() async throws {
        let body = "Subject: hi\r\n\r\nHello"
        let transcript = Transcript("""
            * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.
            A0001 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT THREAD=REFERENCES MULTIAPPEND UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH LITERAL+ MOVE] Logged in
            * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
            * OK [PERMANENTFLAGS ()] Read-only mailbox.
            * 3 EXISTS
            * 0 RECENT
            * OK [UIDVALIDITY 1765130000] UIDs valid
            * OK [UIDNEXT 4] Predicted next UID
            * OK [HIGHESTMODSEQ 5] Highest
            A0002 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).
            * SEARCH 1 2 3
            A0003 OK Search completed (0.001 + 0.000 secs).
            * 1 FETCH (UID 1 RFC822.SIZE \(body.utf8.count) INTERNALDATE "07-Dec-2026 19:00:00 +0100" BODY[]<0> {\(body.utf8.count)}
            \(body))
            A0004 OK Fetch completed (0.002 + 0.000 + 0.001 secs).
            """)
        let responses = try await transcript.readAll()
        #expect(responses.count == 14)
        guard case let .untagged(.status(greeting)) = responses[0] else { Issue.record("no greeting"); return }
        #expect(greeting.condition == .ok)
        guard case let .capability(caps)? = greeting.code else { Issue.record("no capability code"); return }
        #expect(caps.contains("AUTH=PLAIN") && caps.contains("STARTTLS") && caps.contains("IDLE"))
        #expect(responses[1] == .tagged(tag: "A0001", IMAPStatus(condition: .ok, code: responses.capabilityCode(1), text: "Logged in")))
        #expect(responses[2] == .untagged(.other("FLAGS")))
        #expect(responses[4] == .untagged(.exists(3)))
        #expect(responses[5] == .untagged(.recent(0)))
        #expect(responses[6] == .untagged(.status(IMAPStatus(condition: .ok, code: .uidValidity(1_765_130_000), text: "UIDs valid"))))
        #expect(responses[7] == .untagged(.status(IMAPStatus(condition: .ok, code: .uidNext(4), text: "Predicted next UID"))))
        #expect(responses[8] == .untagged(.status(IMAPStatus(condition: .ok, code: .other("HIGHESTMODSEQ"), text: "Highest"))))
        #expect(responses[10] == .untagged(.search([1, 2, 3])))
        guard case let .untagged(.fetch(sequence, fetched)) = responses[12] else { Issue.record("no fetch"); return }
        #expect(sequence == 1)
        #expect(fetched.uid == 1)
        #expect(fetched.size == body.utf8.count)
        #expect(fetched.body == Array(body.utf8))
        #expect(fetched.bodyOrigin == 0)
        #expect(fetched.internalDate == Date(timeIntervalSince1970: 1_796_666_400))
        #expect(responses[13] == .tagged(tag: "A0004", IMAPStatus(condition: .ok, code: nil, text: "Fetch completed (0.002 + 0.000 + 0.001 secs).")))
    }

    @Test("Gmail's capabilities, X-GM items and XOAUTH2 failure read as expected")
    func gmail() async throws {
        let transcript = Transcript("""
            * OK Gimap ready for requests from 203.0.113.9 a1mb123456789abc
            * CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584
            A0001 OK Thats all she wrote! a1mb123456789abc
            + eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==
            A0002 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)
            * 12 FETCH (X-GM-THRID 1784993215513427210 X-GM-MSGID 1784993215513427210 X-GM-LABELS (\\Inbox "Work stuff" \\Important) UID 42 RFC822.SIZE 5 INTERNALDATE "07-Dec-2026 18:00:00 +0000" BODY[]<0> {5}
            Hello FLAGS (\\Seen))
            * 13 FETCH (X-GM-LABELS () UID 43 FLAGS (\\Seen))
            """)
        let responses = try await transcript.readAll()
        guard case let .untagged(.capability(caps)) = responses[1] else { Issue.record("no capabilities"); return }
        #expect(caps.contains("X-GM-EXT-1") && caps.contains("LITERAL-") && caps.contains("APPENDLIMIT=35651584"))
        #expect(!caps.contains("AUTH=PLAIN"))
        #expect(responses[3] == .continuation("eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="))
        #expect(responses[4] == .tagged(tag: "A0002", IMAPStatus(condition: .no, code: .other("AUTHENTICATIONFAILED"), text: "Invalid credentials (Failure)")))
        guard case let .untagged(.fetch(_, message)) = responses[5] else { Issue.record("no fetch"); return }
        #expect(message.uid == 42)
        #expect(message.body == Array("Hello".utf8))
        guard case let .untagged(.fetch(_, flagsOnly)) = responses[6] else { Issue.record("no fetch"); return }
        #expect(flagsOnly.uid == 43)
        #expect(flagsOnly.body == nil)
    }

    @Test("Exchange's FETCH with BODY[] before FLAGS and an unpadded day reads")
    func exchange() async throws {
        let message = String(repeating: "x", count: 123)
        let transcript = Transcript("""
            * OK The Microsoft Exchange IMAP4 service is ready. [TQBXADIAUABSADAANQBDAEEAMAAwADIANQAuAGUAdQByAHAAcgBkADAANQAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]
            * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+
            A0001 OK CAPABILITY completed.
            * 3 FETCH (UID 7 RFC822.SIZE 123 INTERNALDATE " 7-Dec-2026 10:00:00 +0000" BODY[] {123}
            \(message) FLAGS (\\Seen \\Recent))
            A0002 OK FETCH completed.
            A0003 OK
            """)
        let responses = try await transcript.readAll()
        guard case let .untagged(.status(greeting)) = responses[0] else { Issue.record("no greeting"); return }
        #expect(greeting.text.hasPrefix("The Microsoft Exchange IMAP4 service is ready."))
        guard case let .untagged(.fetch(sequence, fetched)) = responses[3] else { Issue.record("no fetch"); return }
        #expect(sequence == 3)
        #expect(fetched.uid == 7)
        #expect(fetched.size == 123)
        #expect(fetched.body == Array(message.utf8))
        #expect(fetched.bodyOrigin == nil)
        #expect(fetched.internalDate == Date(timeIntervalSince1970: 1_796_637_600))
        #expect(responses[5] == .tagged(tag: "A0003", IMAPStatus(condition: .ok, code: nil, text: "")))
    }

    @Test("Yandex's greeting, SEARCH with CONDSTORE's MODSEQ and an empty SEARCH read")
    func yandex() async throws {
        let transcript = Transcript("""
            * OK Yandex IMAP4rev1 at imap34.mail.yandex.net:993 ready to talk with 203.0.113.9:51234, 2026-Dec-07 22:00:00, abcdef
            * CAPABILITY IMAP4rev1 CHILDREN UNSELECT LITERAL+ NAMESPACE XLIST BINARY UIDPLUS ENABLE ID AUTH=PLAIN AUTH=XOAUTH2 IDLE MOVE
            A0001 OK CAPABILITY Completed.
            * SEARCH 5 6 (MODSEQ 917162500)
            A0002 OK SEARCH Completed.
            * SEARCH
            A0003 OK SEARCH Completed.
            * BYE IMAP4rev1 Server logging out
            """)
        let responses = try await transcript.readAll()
        #expect(responses[3] == .untagged(.search([5, 6])))
        #expect(responses[5] == .untagged(.search([])))
        #expect(responses[7] == .untagged(.status(IMAPStatus(condition: .bye, code: nil, text: "IMAP4rev1 Server logging out"))))
    }

    @Test("quoted strings keep escaped quotes and backslashes, and NIL bodies are told apart")
    func quotedAndNil() async throws {
        let transcript = Transcript("""
            * 2 FETCH (UID 9 X-NOTE "a \\"b\\" \\\\c" BODY[] NIL)
            * 3 FETCH (UID 10 BODY[] "short")
            * 4 FETCH (UID 11 BODY[] {0}
            )
            """)
        let responses = try await transcript.readAll()
        guard case let .untagged(.fetch(_, nilBody)) = responses[0] else { Issue.record("no fetch"); return }
        #expect(nilBody.body == nil && nilBody.bodyIsNil)
        guard case let .untagged(.fetch(_, quoted)) = responses[1] else { Issue.record("no fetch"); return }
        #expect(quoted.body == Array("short".utf8))
        guard case let .untagged(.fetch(_, empty)) = responses[2] else { Issue.record("no fetch"); return }
        #expect(empty.body == [])
    }

    @Test("a literal carries CRLF, parentheses and 8-bit bytes untouched")
    func literalBytes() async throws {
        let body: [UInt8] = Array("A) (\r\n* 1 EXISTS\r\nA0001 OK fake\r\n".utf8) + [0xD0, 0x9F, 0xFF, 0x00]
        var wire = Array("* 1 FETCH (UID 1 BODY[]<0> {\(body.count)+}\r\n".utf8)
        wire += body
        wire += Array(")\r\nA0005 OK done\r\n".utf8)
        let responses = try await Transcript(wire: wire).readAll()
        #expect(responses.count == 2)
        guard case let .untagged(.fetch(_, fetched)) = responses[0] else { Issue.record("no fetch"); return }
        #expect(fetched.body == body)
    }
}

extension [IMAPResponse] {
    func capabilityCode(_ index: Int) -> IMAPResponseCode? {
        guard case let .tagged(_, status) = self[index] else { return nil }
        return status.code
    }
}

@Suite("Reading ESEARCH")
struct IMAPExtendedSearchTests {
    @Test("ESEARCH ranges, the tag correlator and other return data read as ranges")
    func ranges() async throws {
        let responses = try await Transcript("""
            * ESEARCH (TAG "A0003") UID ALL 4:6,9,20:18 COUNT 6
            * ESEARCH (TAG "A0004") UID
            * ESEARCH (TAG "A0005") UID MIN 1 MAX 4294967295 ALL 1:4294967295
            """).readAll()
        #expect(responses[0] == .untagged(.extendedSearch([4...6, 9...9, 18...20])))
        #expect(responses[1] == .untagged(.extendedSearch([])))
        #expect(responses[2] == .untagged(.extendedSearch([1...UInt32.max])))
    }

    @Test("hostile ESEARCH answers are refused")
    func hostile() async {
        for text in ["* ESEARCH UID ALL 1:4294967296", "* ESEARCH UID ALL 1:*", "* ESEARCH UID ALL", "* ESEARCH UID ALL 1,,2"] {
            await #expect(throws: IMAPError.self) { _ = try await Transcript(text).readAll() }
        }
    }
}
