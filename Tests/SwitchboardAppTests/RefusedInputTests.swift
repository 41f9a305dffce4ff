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

    @Test("NUL in free text, a search or a filter is 400 naming the field, not 500")
    func nul() async throws {
        try await withApp { client in
            let (tenant, _) = try await seededTenant(client, senders: [(id: 501, name: "Dana")])
            let key = tenant.key
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            let conversation = try #require(try await listData(client, "/v1/conversations", key: key).first?["id"] as? String)
            try expectError(
                try await Self.call(client, .post, "/v1/contacts/\(contact)/notes", key: key, body: #"{"body": "a\u0000b"}"#),
                .badRequest, "invalid_request", field: "body"
            )
            try expectError(
                try await Self.call(client, .post, "/v1/conversations/\(conversation)/messages", key: key, body: #"{"text": "a\u0000b"}"#),
                .badRequest, "invalid_request", field: "text"
            )
            try expectError(
                try await Self.call(client, .patch, "/v1/contacts/\(contact)", key: key, body: #"{"email": "a\u0000@b.kz"}"#),
                .badRequest, "invalid_request", field: "email"
            )
            try expectError(try await Self.call(client, .get, "/v1/contacts?q=a%00b", key: key), .badRequest, "invalid_request", field: "q")
            for name in ["subject_kind", "subject_id"] {
                try expectError(
                    try await Self.call(client, .get, "/v1/audit-log?\(name)=%00", key: key), .badRequest, "invalid_request", field: name
                )
            }
            let provider = try object(try await Self.call(client, .post, "/v1/providers", key: key, body: #"{"name": "FAQ", "kind": "local"}"#))
            let providerID = try #require(provider["id"] as? String)
            try expectError(
                try await Self.call(
                    client, .post, "/v1/agents", key: key,
                    body: #"{"name": "A", "provider_id": "\#(providerID)", "model": "faq", "system_prompt": "be\u0000kind"}"#
                ),
                .badRequest, "invalid_request", field: "system_prompt"
            )
        }
    }

    @Test("lengths count code points, as the database and JSON Schema do: 200 letters with accents are 400 characters")
    func lengthsInCodePoints() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            // 150 characters on screen, 300 code points: the database refused this with no field.
            let decomposed = String(repeating: "e\u{301}", count: 150)
            try expectError(
                try await Self.call(client, .post, "/v1/providers", key: tenant.key, body: #"{"name": "\#(decomposed)", "kind": "local"}"#),
                .badRequest, "invalid_request", field: "name"
            )
            try expectError(
                try await Self.call(client, .post, "/admin/tenants", key: adminToken, body: #"{"name": "\#(decomposed)"}"#),
                .badRequest, "invalid_request", field: "name"
            )
            let fits = String(repeating: "e\u{301}", count: 100)
            #expect(try await Self.call(client, .post, "/v1/providers", key: tenant.key, body: #"{"name": "\#(fits)", "kind": "local"}"#).status == .created)
        }
    }

    @Test("a home region the database would refuse is 400 naming home_region, not a database error without a field")
    func homeRegion() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            for region in ["0", "kz-", "k", "k1", "kz--x", "-kz"] {
                try expectError(
                    try await Self.call(client, .put, "/v1/privacy/policy", key: tenant.key, body: #"{"home_region": "\#(region)"}"#),
                    .badRequest, "invalid_request", field: "home_region"
                )
            }
            let response = try await Self.call(client, .put, "/v1/privacy/policy", key: tenant.key, body: #"{"home_region": " EU-West-1 "}"#)
            #expect(response.status == .ok)
            #expect(try object(response)["home_region"] as? String == "eu-west-1")
        }
    }

    @Test("a phone of non-ASCII digits and a region of look-alike letters are refused")
    func asciiOnly() async throws {
        try await withApp { client in
            let (tenant, _) = try await seededTenant(client, senders: [(id: 502, name: "Arman")])
            let contact = try #require(try await listData(client, "/v1/contacts", key: tenant.key).first?["id"] as? String)
            // Arabic-Indic digits and vulgar fractions are "numbers" to Swift, not to a phone.
            for phone in ["١٢٣٤٥٦٧", "½½½½½"] {
                try expectError(
                    try await Self.call(client, .patch, "/v1/contacts/\(contact)", key: tenant.key, body: #"{"phone": "\#(phone)"}"#),
                    .badRequest, "invalid_request", field: "phone"
                )
            }
            let phone = try await Self.call(client, .patch, "/v1/contacts/\(contact)", key: tenant.key, body: #"{"phone": " +7 (701) 123-45-67 "}"#)
            #expect(try object(phone)["phone"] as? String == "+7 (701) 123-45-67")
            // The Kelvin sign lowercases to an ASCII k: it was stored as the region "kz".
            try expectError(
                try await Self.call(client, .post, "/v1/providers", key: tenant.key, body: #"{"name": "P", "kind": "local", "region": "\u212Az"}"#),
                .badRequest, "invalid_request", field: "region"
            )
        }
    }

    @Test("analytics take format=csv and no other format")
    func analyticsFormat() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            for path in ["summary?format=xml", "timeseries?metric=handoffs&format=json"] {
                try expectError(try await Self.call(client, .get, "/v1/analytics/\(path)", key: tenant.key), .badRequest, "invalid_request", field: "format")
            }
            let csv = try await Self.call(client, .get, "/v1/analytics/summary?format=csv", key: tenant.key)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
        }
    }

    @Test("the dashboard's filter is checked with or without a session")
    func dashboardFilterSignedOut() async throws {
        try await withApp { client in
            try expectError(try await dashboard(client, cookie: nil, query: "?days=-58800"), .badRequest, "invalid_request", field: "days")
            try expectError(try await dashboard(client, cookie: nil, query: "?tz=Mars%2FBase"), .badRequest, "invalid_request", field: "tz")
            try expectError(try await dashboard(client, cookie: nil, query: "?channel_id=x"), .notFound, "not_found", field: "channel_id")
            // An empty filter, as the page's own form sends it, is the default.
            #expect(try await dashboard(client, cookie: nil, query: "?days=7&tz=&channel_id=").status == .ok)
        }
    }

    @Test("a sign-in form is read for its api_key whatever other fields it holds")
    func signInFormFields() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            func signIn(_ form: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: formHeaders(html: false), body: ByteBuffer(string: form)
                ) { $0 }
            }
            let key = tenant.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? tenant.key
            // Fields beside the key made the form unreadable: "Enter an API key." for a real key.
            #expect(try await signIn("remember=1&api_key=\(key)&x%5B%5D=2&x=3").status == .seeOther)
            try expectError(try await signIn("api_key=sb_live_wrong&__main__=1&__main__=2"), .unauthorized, "unauthorized", field: "api_key")
            try expectError(try await signIn("remember=1"), .badRequest, "invalid_request", field: "api_key")
            try expectError(try await signIn("api_key=+%20+"), .badRequest, "invalid_request", field: "api_key")
        }
    }
}
