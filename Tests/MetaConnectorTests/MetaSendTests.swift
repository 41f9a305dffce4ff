import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import MetaConnector
import Testing

@Suite("Instagram and Messenger sending and profile lookups")
struct MetaSendTests {
    static func accepted(_ id: String, to recipient: String = "1") -> RecordingHTTPClient.Reply {
        .json(200, #"{"recipient_id":"\#(recipient)","message_id":"\#(id)"}"#)
    }

    static func graphError(_ status: Int, code: Int, subcode: Int? = nil, headers: HTTPFields = [:]) -> RecordingHTTPClient.Reply {
        let sub = subcode.map { #","error_subcode":\#($0)"# } ?? ""
        return .json(
            status, #"{"error":{"message":"(#\#(code)) refused","type":"OAuthException","code":\#(code)\#(sub),"fbtrace_id":"AbC"}}"#,
            headers: headers)
    }

    func message(_ meta: Meta, _ text: String) -> OutboundMessage {
        OutboundMessage(chatExternalID: meta.contactID, text: text, idempotencyKey: "msg-1")
    }

    func sendError(_ meta: Meta, _ reply: RecordingHTTPClient.Reply) async -> ConnectorError? {
        let http = RecordingHTTPClient()
        http.enqueue(reply, forPathSuffix: "/messages")
        do {
            _ = try await meta.connector.send(message(meta, "Сәлем"), credentials: meta.credentials, http: http)
            return nil
        } catch {
            return error
        }
    }

    @Test("a text is POSTed to /{version}/{account}/messages with the bearer token as a RESPONSE", arguments: Meta.both)
    func sendsText(_ meta: Meta) async throws {
        let http = RecordingHTTPClient()
        http.enqueue(Self.accepted("m_SENT1"), forPathSuffix: "/messages")
        let receipt = try await meta.connector.send(message(meta, "Да, доставка 2 дня 🚚"), credentials: meta.credentials, http: http)
        #expect(receipt == SendReceipt(externalIDs: ["m_SENT1"]))
        let recorded = try #require(http.requests.first)
        #expect(http.requests.count == 1)
        #expect(recorded.request.method == .post)
        #expect(recorded.request.authority == "127.0.0.1:9")
        #expect(recorded.request.path == "/v21.0/\(meta.accountID)/messages")
        #expect(recorded.request.headerFields[.authorization] == "Bearer \(meta.accessToken)")
        #expect(recorded.request.headerFields[.contentType] == "application/json")
        #expect(
            recorded.text
                == #"{"message":{"text":"Да, доставка 2 дня 🚚"},"messaging_type":"RESPONSE","recipient":{"id":"\#(meta.contactID)"}}"#)
    }

    @Test("the API base path and version are configurable")
    func apiVersion() async throws {
        let connector = MessengerConnector(apiBase: URL(string: "http://127.0.0.1:9/graph/")!, apiVersion: "v23.0")
        let http = RecordingHTTPClient(defaultReply: Self.accepted("m_X"))
        _ = try await connector.send(message(.messenger, "x"), credentials: Meta.messenger.credentials, http: http)
        #expect(http.requests.first?.request.path == "/graph/v23.0/104581938201456/messages")
    }

    @Test("a long text is split at the platform's limit, sent in order, every id in the receipt", arguments: Meta.both)
    func splits(_ meta: Meta) async throws {
        let http = RecordingHTTPClient()
        for index in 1...5 { http.enqueue(Self.accepted("m_PART\(index)"), forPathSuffix: "/messages") }
        let text = String(repeating: "word ", count: meta.textLimit / 2)  // 2.5 × the limit
        let receipt = try await meta.connector.send(message(meta, text), credentials: meta.credentials, http: http)
        #expect(receipt.externalIDs == ["m_PART1", "m_PART2", "m_PART3"])
        let parts = try http.requests.map { try #require(($0.jsonObject()["message"] as? [String: Any])?["text"] as? String) }
        #expect(parts.joined() == text)
        #expect(parts.allSatisfy { $0.utf16.count <= meta.textLimit })
        #expect(parts.count == 3)
    }

    @Test("a tagged message goes as MESSAGE_TAG with its tag", arguments: Meta.both)
    func tagged(_ meta: Meta) async throws {
        let http = RecordingHTTPClient(defaultReply: Self.accepted("m_TAG"))
        var outbound = message(meta, "Sorry for the wait")
        outbound.tag = "HUMAN_AGENT"
        _ = try await meta.connector.send(outbound, credentials: meta.credentials, http: http)
        let body = try #require(http.requests.first).jsonObject()
        #expect(body["messaging_type"] as? String == "MESSAGE_TAG")
        #expect(body["tag"] as? String == "HUMAN_AGENT")
    }

    @Test("quick replies (13 at most, titles cut to 20) go on the last text part, attachments after", arguments: Meta.both)
    func quickRepliesAndAttachments(_ meta: Meta) async throws {
        let http = RecordingHTTPClient()
        for index in 1...10 { http.enqueue(Self.accepted("m_\(index)"), forPathSuffix: "/messages") }
        var outbound = message(meta, String(repeating: "a ", count: meta.textLimit / 2 + 10))
        outbound.quickReplies = (1...15).map { OutboundMessage.QuickReply(title: "Option number \($0) is long", payload: "OPT_\($0)") }
        outbound.attachments = [
            .init(kind: "image", url: "https://cdn.example.kz/a.jpg"), .init(kind: "file", url: "https://cdn.example.kz/price.pdf"),
        ]
        let receipt = try await meta.connector.send(outbound, credentials: meta.credentials, http: http)
        #expect(receipt.externalIDs == ["m_1", "m_2", "m_3", "m_4"])
        let bodies = try http.requests.map { try $0.jsonObject() }
        let messages = bodies.compactMap { $0["message"] as? [String: Any] }
        #expect(messages[0]["quick_replies"] == nil)
        let quick = try #require(messages[1]["quick_replies"] as? [[String: Any]])
        #expect(quick.count == 13)
        #expect(quick[0]["content_type"] as? String == "text")
        #expect(quick[0]["title"] as? String == "Option number 1 is l")
        #expect(quick[12]["payload"] as? String == "OPT_13")
        #expect(quick.allSatisfy { ($0["title"] as? String)?.count ?? 99 <= 20 })
        #expect(
            http.requests[2].text
                == #"{"message":{"attachment":{"payload":{"is_reusable":false,"url":"https://cdn.example.kz/a.jpg"},"type":"image"}},"messaging_type":"RESPONSE","recipient":{"id":"\#(meta.contactID)"}}"#)
        #expect((messages[3]["attachment"] as? [String: Any])?["type"] as? String == "file")
        #expect(messages[2]["text"] == nil)
    }

    @Test("attachments alone are sent; an unknown attachment kind or an empty message is refused", arguments: Meta.both)
    func attachmentsOnly(_ meta: Meta) async throws {
        let http = RecordingHTTPClient(defaultReply: Self.accepted("m_A"))
        var outbound = message(meta, "")
        outbound.attachments = [.init(kind: "video", url: "https://cdn.example.kz/v.mp4")]
        #expect(try await meta.connector.send(outbound, credentials: meta.credentials, http: http).externalIDs == ["m_A"])
        outbound.attachments = [.init(kind: "sticker", url: "https://cdn.example.kz/s.webp")]
        await #expect(throws: ConnectorError.self) { try await meta.connector.send(outbound, credentials: meta.credentials, http: http) }
        await #expect(throws: ConnectorError.self) {
            try await meta.connector.send(message(meta, ""), credentials: meta.credentials, http: http)
        }
        #expect(http.requests.count == 1)
    }

    @Test("Graph errors map to the ConnectorError codes, always with the platform code", arguments: Meta.both)
    func errors(_ meta: Meta) async throws {
        let cases: [(Int, Int, Int?, ConnectorError.Code, Bool)] = [
            (401, 190, nil, .credentialsRejected, false),
            (400, 190, 460, .credentialsRejected, false),
            (400, 10, 2_018_278, .reengagementRequired, false),
            (400, 2_534_022, nil, .reengagementRequired, false),
            (400, 100, 2_534_022, .reengagementRequired, false),
            (400, 551, 1_545_041, .undeliverable, false),
            (400, 100, 2_018_001, .undeliverable, false),
            (400, 100, 2_018_108, .undeliverable, false),
            (400, 4, nil, .rateLimited, true), (400, 17, nil, .rateLimited, true), (400, 32, nil, .rateLimited, true),
            (400, 613, nil, .rateLimited, true), (429, 1, nil, .rateLimited, true),
            (400, 100, nil, .sendFailed, false), (403, 200, nil, .sendFailed, false), (404, 803, nil, .sendFailed, false),
            (400, 10, nil, .sendFailed, false),
            (500, 1, nil, .sendFailed, true), (503, 2, nil, .sendFailed, true),
        ]
        for (status, code, subcode, expected, retryable) in cases {
            let what = "HTTP \(status) code \(code)/\(subcode.map(String.init) ?? "-")"
            let reply = Self.graphError(status, code: code, subcode: subcode, headers: [.retryAfter: "30"])
            let error = try #require(await sendError(meta, reply), "\(what)")
            #expect(error.code == expected, "\(what)")
            #expect(error.retryable == retryable, "\(what)")
            #expect(error.platformCode == code, "\(what)")
            if expected == .rateLimited { #expect(error.retryAfter == 30, "\(what)") }
            #expect(!error.description.contains(meta.accessToken))
        }
    }

    @Test("a dead network, an unreadable success and an answer quoting the token", arguments: Meta.both)
    func failures(_ meta: Meta) async throws {
        let network = try #require(await sendError(meta, .networkFailure("refused: Bearer \(meta.accessToken)")))
        #expect(network.code == .sendFailed)
        #expect(network.retryable)
        #expect(!network.description.contains(meta.accessToken))
        let unreadable = try #require(await sendError(meta, .json(200, "<html>")))
        #expect(unreadable.code == .sendFailed)
        #expect(unreadable.retryable)
        let quoting = try #require(
            await sendError(meta, .json(400, #"{"error":{"message":"bad token \#(meta.accessToken)","code":100}}"#)))
        #expect(!quoting.description.contains(meta.accessToken))
        #expect(quoting.platformCode == 100)
        let plain = try #require(await sendError(meta, .json(502, "Bad Gateway")))
        #expect(plain.code == .sendFailed && plain.retryable && plain.platformCode == nil)
    }

    @Test("missing account id or token are credentialsRejected without a request", arguments: Meta.both)
    func missingCredentials(_ meta: Meta) async {
        for name in [meta.kind == "instagram" ? "ig_user_id" : "page_id", "access_token"] {
            var credentials = meta.credentials
            credentials.values[name] = nil
            let http = RecordingHTTPClient()
            do {
                _ = try await meta.connector.send(message(meta, "x"), credentials: credentials, http: http)
                Issue.record("sent without \(name)")
            } catch {
                #expect(error.code == .credentialsRejected)
                #expect(error.field == name)
            }
            #expect(http.requests.isEmpty)
        }
    }

    @Test("a profile lookup asks the kind's fields with the bearer token", arguments: Meta.both)
    func profile(_ meta: Meta) async throws {
        let http = RecordingHTTPClient()
        if meta.kind == "instagram" {
            http.enqueue(.json(200, #"{"name":"Aliya S.","username":"aliya.shop","id":"\#(meta.contactID)"}"#), forPathSuffix: meta.contactID)
        } else {
            http.enqueue(.json(200, #"{"first_name":"Aliya","last_name":"Serikova","id":"\#(meta.contactID)"}"#), forPathSuffix: meta.contactID)
        }
        let sender = try await meta.connector.profile(of: meta.contactID, credentials: meta.credentials, http: http)
        let recorded = try #require(http.requests.first)
        #expect(recorded.request.method == .get)
        #expect(recorded.request.headerFields[.authorization] == "Bearer \(meta.accessToken)")
        if meta.kind == "instagram" {
            #expect(recorded.request.path == "/v21.0/\(meta.contactID)?fields=name,username")
            #expect(sender == InboundEvent.Sender(externalID: meta.contactID, name: "Aliya S.", username: "aliya.shop"))
        } else {
            #expect(recorded.request.path == "/v21.0/\(meta.contactID)?fields=first_name,last_name,name")
            #expect(sender == InboundEvent.Sender(externalID: meta.contactID, name: "Aliya Serikova"))
        }
    }

    @Test("a failed profile lookup throws: token refused, retryable server errors, not-found", arguments: Meta.both)
    func profileErrors(_ meta: Meta) async throws {
        let cases: [(RecordingHTTPClient.Reply, ConnectorError.Code, Bool)] = [
            (Self.graphError(400, code: 190), .credentialsRejected, false), (.json(401, "{}"), .credentialsRejected, false),
            (Self.graphError(404, code: 803), .sendFailed, false), (Self.graphError(400, code: 100, subcode: 33), .sendFailed, false),
            (.json(500, "{}"), .sendFailed, true), (.networkFailure(), .sendFailed, true), (.json(200, "[]"), .sendFailed, true),
        ]
        for (reply, code, retryable) in cases {
            let http = RecordingHTTPClient(defaultReply: reply)
            do {
                _ = try await meta.connector.profile(of: meta.contactID, credentials: meta.credentials, http: http)
                Issue.record("a failed lookup answered")
            } catch {
                #expect(error.code == code)
                #expect(error.retryable == retryable)
            }
        }
        let http = RecordingHTTPClient()
        await #expect(throws: ConnectorError.self) {
            _ = try await meta.connector.profile(of: "../me?x=1", credentials: meta.credentials, http: http)
        }
        #expect(http.requests.isEmpty)
    }
}
