import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp templates: listing, the status webhook, waba_id and the window")
struct WhatsAppTemplateTests {
    let connector = WhatsApp.connector
    static let wabaID = "102290129340398"
    static var credentials: ChannelCredentials {
        var credentials = WhatsApp.credentials
        credentials.values["waba_id"] = wabaID
        return credentials
    }

    static func page(_ name: String) throws -> RecordingHTTPClient.Reply {
        .json(200, String(decoding: try WhatsApp.fixture(name), as: UTF8.self))
    }

    @Test("two pages are read through the after cursor on our own base, never the paging.next URL")
    func listsTwoPages() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(try Self.page("templates_page1"), forPathSuffix: "/message_templates")
        http.enqueue(try Self.page("templates_page2"), forPathSuffix: "/message_templates")
        let templates = try await connector.templates(credentials: Self.credentials, http: http)

        #expect(
            templates == [
                MessageTemplate(
                    name: "order_ready", language: "kk", status: "APPROVED", category: "UTILITY",
                    body: "Сәлем, {{1}}! Тапсырыс {{2}} дайын. {{1}}, күтеміз.", parameterCount: 2),
                MessageTemplate(
                    name: "hello_world", language: "en_US", status: "PENDING", category: "MARKETING",
                    body: "Welcome and congratulations!!", parameterCount: 0),
                // No body component; the nameless entry after it is left out.
                MessageTemplate(name: "image_only", language: "ru", status: "REJECTED"),
            ])
        let requests = http.requests
        try #require(requests.count == 2)
        let fields = "fields=name,language,status,category,components&limit=100"
        #expect(requests[0].request.path == "/v21.0/\(Self.wabaID)/message_templates?\(fields)")
        #expect(requests[1].request.path == "/v21.0/\(Self.wabaID)/message_templates?\(fields)&after=QVFIUmx1%2FWU0%3D")
        for recorded in requests {
            #expect(recorded.request.method == .get)
            #expect(recorded.request.authority == "127.0.0.1:9")
            #expect(recorded.request.headerFields[.authorization] == "Bearer \(WhatsApp.accessToken)")
            #expect(recorded.body.isEmpty)
        }
    }

    static func cursorPage(_ cursor: String) -> RecordingHTTPClient.Reply {
        .json(
            200,
            #"{"data":[{"name":"t_\#(cursor)","language":"ru","status":"APPROVED","components":[{"type":"BODY","text":"{{1}} {{2}} {{3}}"}]}],"paging":{"cursors":{"after":"\#(cursor)"},"next":"https://graph.facebook.com/next"}}"#
        )
    }

    @Test("at most ten pages are read, and a cursor seen before ends the listing")
    func boundedPaging() async throws {
        let http = RecordingHTTPClient()
        for index in 1...12 { http.enqueue(Self.cursorPage("c\(index)"), forPathSuffix: "/message_templates") }
        let templates = try await connector.templates(credentials: Self.credentials, http: http)
        #expect(http.requests.count == 10)
        #expect(templates.count == 10)
        #expect(templates.allSatisfy { $0.parameterCount == 3 })
        #expect(http.requests.last?.request.path?.hasSuffix("&after=c9") == true)

        let looping = RecordingHTTPClient(defaultReply: Self.cursorPage("same"))
        _ = try await connector.templates(credentials: Self.credentials, http: looping)
        #expect(looping.requests.count == 2)
    }

    @Test("placeholders are counted once each, and their count is bounded")
    func placeholders() async throws {
        let many = (1...150).map { "{{\($0)}}" }.joined(separator: " ")
        let cases: [(String, Int)] = [
            ("{{1}} {{1}} {{2}}", 2), ("{{ 1 }} {1} {{x}} {{}}", 0), ("{{{1}}}", 1), ("{{12345}}", 0), (many, 100),
        ]
        for (body, count) in cases {
            let escaped = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
            let http = RecordingHTTPClient(
                defaultReply: .json(
                    200, #"{"data":[{"name":"t","language":"ru","status":"APPROVED","components":[{"type":"BODY","text":\#(escaped)}]}]}"#))
            let templates = try await connector.templates(credentials: Self.credentials, http: http)
            #expect(templates.first?.parameterCount == count, "\(body)")
        }
    }

    @Test("listing without waba_id is refused before any request")
    func needsWABAID() async {
        let http = RecordingHTTPClient()
        for credentials in [WhatsApp.credentials, ChannelCredentials(WhatsApp.credentials.values.merging(["waba_id": "12a"]) { $1 })] {
            do {
                _ = try await connector.templates(credentials: credentials, http: http)
                Issue.record("listed without a usable waba_id")
            } catch {
                #expect(error.code == .invalidCredentials)
                #expect(error.field == "waba_id")
                #expect(error.message.contains("waba_id"))
            }
        }
        #expect(http.requests.isEmpty)
    }

    @Test("the listing's Graph errors are mapped as a send's")
    func listingErrors() async {
        let cases: [(RecordingHTTPClient.Reply, ConnectorError.Code, Bool)] = [
            (.json(401, #"{"error":{"message":"Invalid OAuth access token \#(WhatsApp.accessToken)","code":190}}"#), .credentialsRejected, false),
            (.json(429, #"{"error":{"message":"slow down","code":80008}}"#, headers: [.retryAfter: "12"]), .rateLimited, true),
            (.json(400, #"{"error":{"message":"Unsupported get request","code":100,"error_subcode":33}}"#), .sendFailed, false),
            (.json(500, "<html/>"), .sendFailed, true), (.json(200, "[]"), .sendFailed, true), (.networkFailure(), .sendFailed, true),
        ]
        for (reply, code, retryable) in cases {
            let http = RecordingHTTPClient(defaultReply: reply)
            do {
                _ = try await connector.templates(credentials: Self.credentials, http: http)
                Issue.record("listed through \(reply)")
            } catch {
                #expect(error.code == code)
                #expect(error.retryable == retryable)
                #expect(!error.description.contains(WhatsApp.accessToken))
            }
        }
    }

    @Test("a template status change is ignored, named by template, language and event")
    func templateStatus() throws {
        let events = try WhatsApp.events("template_status")
        try #require(events.count == 3)
        #expect(
            events[0]
                == InboundEvent(
                    kind: .ignored, eventID: "template:594425479261596:PAUSED:1763900500",
                    ignoredReason: "template_status:order_ready:kk:PAUSED"))
        // A string id is read too; the name's markup and line break never reach the reason.
        #expect(events[1].eventID == "template:594425479261597:REJECTED:1763900500")
        #expect(events[1].ignoredReason == "template_status:promo__b_x__b__hi:ru:REJECTED")
        // A value that does not read as a status change is ignored as before.
        #expect(events[2].eventID == "ignored:102290129340398:message_template_status_update:3")
        #expect(events[2].ignoredReason == "field:message_template_status_update")
        #expect(try WhatsApp.events("template_status") == events)
    }

    @Test("waba_id is optional, digits only, and stored as given")
    func wabaIDCredential() throws {
        var submitted = WhatsApp.credentials.values
        submitted["waba_id"] = Self.wabaID
        #expect(try connector.prepareCredentials(submitted).stored == submitted)
        #expect(try connector.prepareCredentials(WhatsApp.credentials.values).stored == WhatsApp.credentials.values)
        submitted["waba_id"] = ""
        #expect(try connector.prepareCredentials(submitted).stored == WhatsApp.credentials.values)

        for bad in ["12 34", "+1022", "abc", "１２３", String(repeating: "9", count: 33), "1/../2"] {
            submitted["waba_id"] = bad
            do {
                _ = try connector.prepareCredentials(submitted)
                Issue.record("accepted waba_id \(bad)")
            } catch {
                #expect(error.code == .invalidCredentials)
                #expect(error.field == "waba_id")
            }
        }
        submitted["waba_id"] = nil
        submitted["business_id"] = "1"
        do {
            _ = try connector.prepareCredentials(submitted)
            Issue.record("accepted business_id")
        } catch {
            #expect(error.field == "business_id")
            #expect(error.message.contains("waba_id"))
        }
    }

    @Test("the messaging window is WhatsApp's 24 hours, then templates only")
    func window() {
        #expect(connector.messagingWindow == .whatsApp)
        let last = Date(timeIntervalSince1970: 1_763_900_000)
        #expect(connector.messagingWindow?.verdict(lastInbound: last, now: last + 25 * 3600, byPerson: true) == .closed)
    }
}
