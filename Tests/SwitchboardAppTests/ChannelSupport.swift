import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

let botToken = "7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"

struct CreatedChannel: Sendable {
    var id: String
    var webhookURL: String
    var revealed: [String: String]
}

/// Creates a channel through the API; answers its id, webhook URL and generated secrets.
func createChannel(
    _ client: any TestClientProtocol, key: String, kind: String, credentials: [String: String], name: String = "Channel"
) async throws -> CreatedChannel {
    let response = try await client.execute(
        uri: "/v1/channels", method: .post, headers: headers(bearer: key),
        body: json(["kind": kind, "name": name, "credentials": credentials])
    ) { $0 }
    #expect(response.status == .created, "body: \(String(decoding: response.body.readableBytesView, as: UTF8.self))")
    let body = try object(response)
    return CreatedChannel(
        id: try #require(body["id"] as? String),
        webhookURL: try #require(body["webhook_url"] as? String),
        revealed: (body["credentials"] as? [String: String]) ?? [:]
    )
}

/// Posts raw bytes to a channel's hook with the given headers.
func deliver(_ client: any TestClientProtocol, channel: String, body: [UInt8], headers extra: HTTPFields) async throws -> TestResponse {
    var fields = extra
    fields[.contentType] = "application/json"
    return try await client.execute(uri: "/hooks/\(channel)", method: .post, headers: fields, body: ByteBuffer(bytes: body)) { $0 }
}

func telegramHeaders(_ secret: String) -> HTTPFields {
    var fields = HTTPFields()
    fields[HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!] = secret
    return fields
}

/// Runs a query as the owner (which bypasses row-level security) and answers the first
/// column of the first row as an integer: for assertions about what was, or was not, stored.
func ownerCount(_ sql: String) async throws -> Int {
    let owner = try await TestDatabase.shared.sharedDatabase()
    return try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
        var count = 0
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) {
            count = value
        }
        return count
    }
}

/// The list answer's `data`.
func listData(_ client: any TestClientProtocol, _ uri: String, key: String) async throws -> [[String: Any]] {
    let response = try await client.execute(uri: uri, method: .get, headers: headers(bearer: key)) { $0 }
    #expect(response.status == .ok, "\(uri): \(String(decoding: response.body.readableBytesView, as: UTF8.self))")
    return try #require(try object(response)["data"] as? [[String: Any]])
}
