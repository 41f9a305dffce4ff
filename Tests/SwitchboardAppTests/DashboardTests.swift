import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

/// Yesterday's date (UTC), for a seeded history the dashboard's "last 30 days" shows.
func yesterday() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
    return formatter.string(from: Date().addingTimeInterval(-86_400))
}

func formHeaders(html: Bool = true, origin: String? = nil) -> HTTPFields {
    var fields = HTTPFields()
    fields[.contentType] = "application/x-www-form-urlencoded"
    if html { fields[.accept] = "text/html,application/xhtml+xml" }
    if let origin { fields[.origin] = origin }
    return fields
}

/// Signs in with `key`; answers the session cookie (`name=value`).
func signIn(_ client: any TestClientProtocol, key: String) async throws -> String {
    let response = try await client.execute(
        uri: "/dashboard/sign-in", method: .post, headers: formHeaders(),
        body: ByteBuffer(string: "api_key=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key)")
    ) { $0 }
    #expect(response.status == .seeOther, "\(String(buffer: response.body))")
    #expect(response.headers[.location] == "/dashboard")
    let setCookie = try #require(response.headers[.setCookie])
    return try #require(setCookie.split(separator: ";").first.map(String.init))
}

func dashboard(_ client: any TestClientProtocol, cookie: String?, query: String = "") async throws -> TestResponse {
    var fields = HTTPFields()
    if let cookie { fields[.cookie] = cookie }
    return try await client.execute(uri: "/dashboard\(query)", method: .get, headers: fields) { $0 }
}

@Suite("Dashboard: sign-in with an API key, a sealed session cookie, the page of figures")
struct DashboardTests {
    @Test("without a session the page is the sign-in form, with a strict content policy and no script")
    func signInForm() async throws {
        try await withApp { client in
            let response = try await dashboard(client, cookie: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)
            #expect(response.headers[.cacheControl] == "no-store")
            let html = String(buffer: response.body)
            #expect(html.contains("name=\"api_key\""))
            #expect(!html.contains("<script"))
        }
    }

    @Test("a signed-in session cookie is Secure, HttpOnly, SameSite=Strict, scoped to /dashboard, and does not carry the key in the clear")
    func sessionCookie() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let response = try await client.execute(
                uri: "/dashboard/sign-in", method: .post, headers: formHeaders(), body: ByteBuffer(string: "api_key=\(tenant.key)")
            ) { $0 }
            #expect(response.status == .seeOther)
            let setCookie = try #require(response.headers[.setCookie])
            let attributes = Set(setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            #expect(attributes.isSuperset(of: ["secure", "httponly", "samesite=strict", "path=/dashboard", "max-age=43200"]), "\(setCookie)")
            #expect(!setCookie.contains(tenant.key))
            #expect(!setCookie.contains(String(tenant.key.dropFirst(8).prefix(12))))
        }
    }

    @Test("a wrong, missing or revoked key, a tampered cookie and a form from another site are refused")
    func refusals() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            // A browser gets the form again with the reason; anything else the JSON envelope.
            let html = try await client.execute(
                uri: "/dashboard/sign-in", method: .post, headers: formHeaders(), body: ByteBuffer(string: "api_key=sb_live_wrong")
            ) { $0 }
            #expect(html.status == .unauthorized)
            #expect(String(buffer: html.body).contains("not valid or has been revoked"))
            #expect(html.headers[.setCookie] == nil)
            try expectError(
                try await client.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: formHeaders(html: false), body: ByteBuffer(string: "api_key=sb_live_wrong")
                ) { $0 }, .unauthorized, "unauthorized", field: "api_key"
            )
            try expectError(
                try await client.execute(uri: "/dashboard/sign-in", method: .post, headers: formHeaders(html: false), body: ByteBuffer(string: "")) { $0 },
                .badRequest, "invalid_request", field: "api_key"
            )
            try expectError(
                try await client.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: headers(), body: ByteBuffer(string: #"{"api_key": "\#(tenant.key)"}"#)
                ) { $0 }, .unsupportedMediaType, "unsupported_media_type"
            )
            try expectError(
                try await client.execute(
                    uri: "/dashboard/sign-in", method: .post, headers: formHeaders(html: false, origin: "https://evil.example"),
                    body: ByteBuffer(string: "api_key=\(tenant.key)")
                ) { $0 }, .forbidden, "forbidden"
            )

            let cookie = try await signIn(client, key: tenant.key)
            #expect(String(buffer: try await dashboard(client, cookie: cookie).body).contains("data-metric=\"inbound_messages\""))
            // A cookie changed by one character opens to nothing: the sign-in form, and the cookie cleared.
            var tampered = Array(cookie)
            tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
            let refused = try await dashboard(client, cookie: String(tampered))
            #expect(String(buffer: refused.body).contains("name=\"api_key\""))
            #expect(refused.headers[.setCookie]?.contains("Max-Age=0") == true)

            // Revoking a key ends the sessions made with it.
            let second = try await client.execute(
                uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json(["name": "dashboard"])
            ) { try object($0) }
            let secondKey = try #require(second["key"] as? String)
            let secondCookie = try await signIn(client, key: secondKey)
            #expect(String(buffer: try await dashboard(client, cookie: secondCookie).body).contains("data-metric"))
            let revoked = try await client.execute(
                uri: "/v1/api-keys/\(try #require(second["id"] as? String))", method: .delete, headers: headers(bearer: tenant.key)
            ) { $0 }
            #expect(revoked.status == .ok, "\(String(buffer: revoked.body))")
            #expect(String(buffer: try await dashboard(client, cookie: secondCookie).body).contains("name=\"api_key\""))
        }
    }

    @Test("a session ends after 12 hours: the form again, and the cookie cleared")
    func sessionExpires() async throws {
        let clock = TestClock()
        try await withApp(now: clock.now) { client in
            let tenant = try await createTenant(client)
            let cookie = try await signIn(client, key: tenant.key)
            clock.advance(seconds: 12 * 3600 - 60)
            #expect(String(buffer: try await dashboard(client, cookie: cookie).body).contains("data-metric"))
            clock.advance(seconds: 120)
            let expired = try await dashboard(client, cookie: cookie)
            #expect(String(buffer: expired.body).contains("name=\"api_key\""))
            #expect(expired.headers[.setCookie]?.contains("Max-Age=0") == true)
        }
    }

    @Test("the page shows the seeded figures, escapes the tenant's names, and filters by channel; another tenant's channel is 404")
    func page() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client, name: "Shop <b>&</b> Co")
            let history = SeededHistory(tenant: tenant, day: yesterday())
            try await history.seed()
            _ = try await ownerCount("UPDATE channels SET name = '<script>alert(1)</script>' WHERE id = '\(history.channelY)'")
            try await rollUp(history.day)
            let cookie = try await signIn(client, key: tenant.key)
            let response = try await dashboard(client, cookie: cookie)
            #expect(response.status == .ok)
            let html = String(buffer: response.body)
            #expect(html.contains("data-metric=\"inbound_messages\" title=\"Messages received from contacts"))
            #expect(html.contains(">6</dd>"))
            #expect(html.contains(">25.0 %</dd>"))
            #expect(html.contains(">50.0 %</dd>"))
            #expect(html.contains(">0.004000</dd>"))
            #expect(html.contains("Shop &lt;b&gt;&amp;&lt;/b&gt; Co"))
            #expect(!html.contains("<script"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(html.contains("<svg viewBox"))
            #expect(html.contains("anthropic/claude-haiku"))

            let shop = String(buffer: try await dashboard(client, cookie: cookie, query: "?days=90&channel_id=\(history.channelY)&tz=Asia%2FAlmaty").body)
            #expect(shop.contains(">2</dd>"))
            #expect(shop.contains("(Asia/Almaty)"))

            let other = try await createTenant(client)
            let otherCookie = try await signIn(client, key: other.key)
            try expectError(try await dashboard(client, cookie: otherCookie, query: "?channel_id=\(history.channelX)"), .notFound, "not_found")
            try expectError(try await dashboard(client, cookie: otherCookie, query: "?days=12"), .badRequest, "invalid_request", field: "days")
            try expectError(try await dashboard(client, cookie: otherCookie, query: "?tz=Nowhere"), .badRequest, "invalid_request", field: "tz")
        }
    }
}

@Suite("Dashboard in a real browser: headless Chromium from Debian's packages")
struct DashboardBrowserTests {
    /// The package's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("Chromium signs in, sees the seeded figures and the charts on a phone and a desktop, and the screenshots are written")
    func browser() async throws {
        try await withApp(.live) { client in
            let port = try #require(client.port)
            let tenant = try await createTenant(client, name: "Almaty Flowers")
            let history = SeededHistory(tenant: tenant, day: yesterday())
            try await history.seed()
            try await rollUp(history.day)
            let screenshots = Self.root.appendingPathComponent(".build/screenshots")
            try? FileManager.default.removeItem(at: screenshots)
            let result = try await SystemCommand(
                executable: "/usr/bin/python3",
                arguments: [
                    Self.root.appendingPathComponent("Tests/Browser/dashboard.py").path, "--base", "http://127.0.0.1:\(port)",
                    "--key", tenant.key, "--expect", "inbound_messages=6", "--expect", "handoff_rate=25.0 %",
                    "--expect", "ai_resolution_rate=50.0 %", "--expect", "first_response_p50_ms=3.0 s", "--expect", "credits_spent_micros=0.004000",
                    "--screenshots", screenshots.path,
                ]
            ).run()
            #expect(result.status == 0, "\(result.output)")
            for name in ["phone", "desktop"] {
                let path = screenshots.appendingPathComponent("dashboard-\(name).png").path
                let data = try #require(FileManager.default.contents(atPath: path), "no screenshot at \(path): \(result.output)")
                #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
                #expect(data.count > 10_000)
            }
        }
    }
}

@Suite("Dashboard formats")
struct DashboardFormatTests {
    @Test("counts get thousands separators, credits six decimals, durations their unit, rates a percent; nothing is a dash")
    func formats() {
        #expect(DashboardRoutes.count(0) == "0")
        #expect(DashboardRoutes.count(999) == "999")
        #expect(DashboardRoutes.count(1000) == "1,000")
        #expect(DashboardRoutes.count(9_999_992) == "9,999,992")
        #expect(DashboardRoutes.count(-1234) == "-1,234")
        #expect(DashboardRoutes.count(nil) == "—")
        #expect(DashboardRoutes.credits(4000) == "0.004000")
        #expect(DashboardRoutes.credits(3_977_509_999) == "3977.509999")
        #expect(DashboardRoutes.duration(850) == "850 ms")
        #expect(DashboardRoutes.duration(540_000) == "9.0 min")
        #expect(DashboardRoutes.duration(7_200_000) == "2.0 h")
        #expect(DashboardRoutes.percent(0.25) == "25.0 %")
        #expect(DashboardRoutes.percent(nil) == "—")
    }
}
