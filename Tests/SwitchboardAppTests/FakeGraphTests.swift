import AsyncHTTPClient
import ConnectorKit
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing
import WhatsAppConnector

/// Plain outbound HTTP for talking to the loopback fakes (no egress gate: they are local).
private struct LoopbackHTTP: OutboundHTTPClient {
    func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8]) {
        var outbound = HTTPClientRequest(url: "\(request.scheme ?? "http")://\(request.authority ?? "")\(request.path ?? "/")")
        outbound.method = .init(rawValue: request.method.rawValue)
        for field in request.headerFields { outbound.headers.add(name: field.name.rawName, value: field.value) }
        if let body { outbound.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(outbound, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        var fields = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        return (HTTPResponse(status: .init(code: Int(response.status.code)), headerFields: fields), Array(bytes.readableBytesView))
    }
}

@Suite("The loopback Graph API, through the WhatsApp connector")
struct FakeGraphTests {
    static let credentials = ChannelCredentials([
        "phone_number_id": "106540352242922", "access_token": "EAAG-test", "app_secret": String(repeating: "a", count: 32),
        "verify_token": "verify-me-42-long-enough", "waba_id": "102290129340398",
    ])

    static func message(_ text: String, template: TemplateMessage? = nil) -> OutboundMessage {
        OutboundMessage(chatExternalID: "77011234567", text: text, idempotencyKey: "k", template: template)
    }

    @Test("sends are answered with counted wamids; a Messenger-shaped body gets a message_id")
    func sends() async throws {
        try await withFakeGraph { graph in
            let connector = WhatsAppConnector(graphAPIBase: try #require(URL(string: graph.base)))
            let first = try await connector.send(Self.message("Сәлем"), credentials: Self.credentials, http: LoopbackHTTP())
            let second = try await connector.send(
                Self.message("", template: TemplateMessage(name: "order_ready", language: "kk", parameters: ["A-17"])),
                credentials: Self.credentials, http: LoopbackHTTP())
            #expect(first.externalIDs == ["wamid.1"])
            #expect(second.externalIDs == ["wamid.2"])
            #expect(graph.sentCount == 2)
            let entries = graph.log.all
            #expect(entries.map(\.method) == ["POST", "POST"])
            #expect(entries.map(\.path) == ["/v21.0/106540352242922/messages", "/v21.0/106540352242922/messages"])
            #expect(entries[0].json["type"] == "text")
            #expect(entries[1].json["type"] == "template")

            // Messenger's shape: no messaging_product.
            var request = HTTPRequest(method: .post, scheme: "http", authority: String(graph.base.dropFirst(7)), path: "/v21.0/me/messages")
            request.headerFields[.authorization] = "Bearer EAAG-test"
            request.headerFields[.contentType] = "application/json"
            let (response, body) = try await LoopbackHTTP().execute(
                request, body: Array(#"{"recipient":{"id":"2411"},"message":{"text":"hi"}}"#.utf8))
            #expect(response.status == .ok)
            #expect(String(decoding: body, as: UTF8.self) == #"{"message_id":"m_3","recipient_id":"2411"}"#)
        }
    }

    @Test("templates are listed as set, with the query in the log; profiles as set, else Graph's 100")
    func templatesAndProfiles() async throws {
        try await withFakeGraph { graph in
            graph.setTemplates(
                wabaID: "102290129340398",
                json: #"{"data":[{"name":"order_ready","language":"kk","status":"APPROVED","category":"UTILITY","components":[{"type":"BODY","text":"Тапсырыс {{1}} дайын"}]}]}"#)
            let connector = WhatsAppConnector(graphAPIBase: try #require(URL(string: graph.base)))
            let templates = try await connector.templates(credentials: Self.credentials, http: LoopbackHTTP())
            #expect(
                templates == [
                    MessageTemplate(
                        name: "order_ready", language: "kk", status: "APPROVED", category: "UTILITY", body: "Тапсырыс {{1}} дайын",
                        parameterCount: 1)
                ])
            #expect(
                graph.log.all.map(\.path) == [
                    "/v21.0/102290129340398/message_templates?fields=name,language,status,category,components&limit=100"
                ])
            #expect(graph.log.all.first?.method == "GET")

            graph.setProfile(id: "2411", json: #"{"first_name":"Aliya","id":"2411"}"#)
            let authority = String(graph.base.dropFirst(7))
            for (id, status) in [("2411", 200), ("9999", 400)] {
                var request = HTTPRequest(method: .get, scheme: "http", authority: authority, path: "/v21.0/\(id)?fields=first_name")
                request.headerFields[.authorization] = "Bearer EAAG-test"
                let (response, body) = try await LoopbackHTTP().execute(request, body: nil)
                #expect(response.status.code == status)
                if status == 400 { #expect(String(decoding: body, as: UTF8.self).contains(#""code":100"#)) }
            }
            #expect(graph.log.all.last?.path == "/v21.0/9999?fields=first_name")
        }
    }

    @Test("a scripted 131047 is reengagementRequired once; a wrong token is 190")
    func scriptedErrors() async throws {
        try await withFakeGraph { graph in
            let connector = WhatsAppConnector(graphAPIBase: try #require(URL(string: graph.base)))
            graph.failNext(
                path: "/messages", status: 400, code: 131047,
                message: "Re-engagement message: more than 24 hours have passed since the recipient last replied")
            do {
                _ = try await connector.send(Self.message("late"), credentials: Self.credentials, http: LoopbackHTTP())
                Issue.record("sent through a scripted 131047")
            } catch let error as ConnectorError {
                #expect(error.code == .reengagementRequired)
                #expect(error.platformCode == 131047)
                #expect(error.retryable == false)
            }
            // Used once: the next send goes through.
            #expect(try await connector.send(Self.message("again"), credentials: Self.credentials, http: LoopbackHTTP()).externalIDs == ["wamid.1"])

            graph.failNext(path: "/message_templates", status: 400, code: 130429, message: "Rate limit hit")
            do {
                _ = try await connector.templates(credentials: Self.credentials, http: LoopbackHTTP())
                Issue.record("listed through a scripted 130429")
            } catch let error as ConnectorError {
                #expect(error.code == .rateLimited)
                #expect(error.retryable == true)
            }

            var wrong = Self.credentials
            wrong.values["access_token"] = "EAAG-wrong"
            do {
                _ = try await connector.send(Self.message("x"), credentials: wrong, http: LoopbackHTTP())
                Issue.record("sent with a wrong token")
            } catch let error as ConnectorError {
                #expect(error.code == .credentialsRejected)
                #expect(error.platformCode == 190)
                #expect(!error.description.contains("EAAG-wrong"))
            }
            #expect(graph.log.all.count == 4)
        }
    }
}
