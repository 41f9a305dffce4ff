import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

/// Inputs the server took that the OpenAPI document forbids, found by schemathesis (issue
/// 16, item 10): each is now a 4xx with the JSON envelope naming the field, never a 500 or
/// a database error without a field, and never accepted.
@Suite("Refused input: what the OpenAPI document forbids, the server refuses")
struct RefusedInputTests {
    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, key: String, body: String? = nil
    ) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers(bearer: key), body: body.map { ByteBuffer(string: $0) }) { $0 }
    }

    /// base64url of `<sort key>\n<id>`, the shape of the cursors the lists issue.
    static func cursor(_ sortKey: String, _ id: String = "00000000-0000-0000-0000-000000000000") -> String {
        Data("\(sortKey)\n\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test("a cursor whose time PostgreSQL cannot hold is 400 naming cursor, not 500")
    func cursorOutOfRange() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            for sortKey in ["9223372036854775807", "-9223372036854775808", "253402300800000000"] {
                for list in ["/v1/deals", "/v1/channels", "/v1/api-keys", "/v1/contacts"] {
                    let response = try await Self.call(client, .get, "\(list)?cursor=\(Self.cursor(sortKey))", key: tenant.key)
                    try expectError(response, .badRequest, "invalid_request", field: "cursor")
                }
                let response = try await Self.call(client, .get, "/admin/tenants?cursor=\(Self.cursor(sortKey))", key: adminToken)
                try expectError(response, .badRequest, "invalid_request", field: "cursor")
            }
            // The last time a cursor may carry still reads a page.
            #expect(try await Self.call(client, .get, "/v1/deals?cursor=\(Self.cursor("253402300799999999"))", key: tenant.key).status == .ok)
        }
    }
}
