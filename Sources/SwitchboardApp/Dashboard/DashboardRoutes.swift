import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres

/// The analytics dashboard: `GET /dashboard`, a page rendered by the server (Mustache
/// templates, inline SVG charts, no script), behind a sign-in with an API key.
///
/// The session is the API key itself, sealed with AES-GCM under the master key in a
/// `Secure; HttpOnly; SameSite=Strict` cookie scoped to `/dashboard`, with an expiry
/// inside the seal: nothing is stored on the server, a stolen cookie is useless without
/// the master key, and revoking the key ends every session made with it (each request
/// authenticates the key again).
struct DashboardRoutes: Sendable {
    let tenants: any TenantStore
    /// Sign-in and every session's key go through the API's key check (its memory of
    /// unknown keys and its limit on failures per address).
    let keys: APIKeyAuthentication
    let analytics: PostgresAnalyticsStore
    let channels: PostgresChannelStore
    let secrets: SecretBox
    let templates: MustacheLibrary
    let now: @Sendable () -> Date

    static let cookieName = "sb_dashboard"
    static let sessionLifetime: TimeInterval = 12 * 3600
    static let sealContext = "dashboard-session"
    /// The periods the filter offers, in days.
    static let periods = [7, 30, 90, 365]

    init(
        tenants: any TenantStore, keys: APIKeyAuthentication, analytics: PostgresAnalyticsStore, channels: PostgresChannelStore, secrets: SecretBox,
        now: @escaping @Sendable () -> Date
    ) {
        self.tenants = tenants
        self.keys = keys
        self.analytics = analytics
        self.channels = channels
        self.secrets = secrets
        self.now = now
        var library = MustacheLibrary()
        for name in ["dashboard", "sign-in"] {
            // A template missing from the build answers 500 when its page is asked for.
            guard let url = Bundle.module.url(forResource: name, withExtension: "mustache", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: name, withExtension: "mustache"),
                let data = try? Data(contentsOf: url)
            else { continue }
            try? library.register(String(decoding: data, as: UTF8.self), named: name)
        }
        templates = library
    }

    func add(to router: Router<AppRequestContext>) {
        router.get("/dashboard") { request, context in
            // The filter is checked first: a bad one is 400 whether or not there is a session.
            let filter = try Filter(request)
            guard let session = try await session(request, source: context.sourceAddress) else {
                var response = try page("sign-in", [:], status: .ok)
                if request.cookies[Self.cookieName] != nil { response.setCookie(Self.clearedCookie) }
                return response
            }
            return try await dashboard(request, filter: filter, principal: session)
        }
        router.post("/dashboard/sign-in") { request, context in
            try Self.checkOrigin(request)
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024)
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
                throw SwitchboardError(.unsupportedMediaType, "sign in with a form: Content-Type: application/x-www-form-urlencoded")
            }
            guard let key = Self.apiKey(inForm: String(buffer: body))?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
                return try refusal(request, "Enter an API key.", status: .badRequest, field: "api_key")
            }
            guard try await keys.principal(for: key, source: context.sourceAddress) != nil else {
                return try refusal(request, "That API key is not valid or has been revoked.", status: .unauthorized, field: "api_key")
            }
            var response = Response(status: .seeOther, headers: [.location: "/dashboard", .cacheControl: "no-store"])
            response.setCookie(try sessionCookie(key: key))
            return response
        }
        router.post("/dashboard/sign-out") { request, _ in
            try Self.checkOrigin(request)
            var response = Response(status: .seeOther, headers: [.location: "/dashboard", .cacheControl: "no-store"])
            response.setCookie(Self.clearedCookie)
            return response
        }
    }

    /// The `api_key` of a sign-in form (the first, if it is there twice), whatever other
    /// fields the form holds; `nil` when there is none or it is not percent-encoded right.
    static func apiKey(inForm form: String) -> String? {
        func decoded(_ text: Substring) -> String? { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard decoded(parts[0]) == "api_key" else { continue }
            return parts.count == 2 ? decoded(parts[1]) : ""
        }
        return nil
    }

    // MARK: Session

    struct Session: Codable {
        var key: String
        var expires: Double
    }

    func sessionCookie(key: String) throws -> Cookie {
        let session = Session(key: key, expires: now().addingTimeInterval(Self.sessionLifetime).timeIntervalSince1970)
        let sealed = try secrets.seal(Array(try JSONEncoder().encode(session)), context: Self.sealContext)
        return Cookie(
            name: Self.cookieName, value: Self.base64URL(sealed), maxAge: Int(Self.sessionLifetime), path: "/dashboard",
            secure: true, httpOnly: true, sameSite: .strict
        )
    }

    static let clearedCookie = Cookie(
        name: cookieName, value: "", maxAge: 0, path: "/dashboard", secure: true, httpOnly: true, sameSite: .strict
    )

    /// The tenant of a valid, unexpired session whose key still authenticates; `nil` otherwise.
    func session(_ request: Request, source: String) async throws -> TenantPrincipal? {
        guard let value = request.cookies[Self.cookieName]?.value, !value.isEmpty,
              let sealed = Self.unbase64URL(value),
              let plain = try? secrets.open(Array(sealed), context: Self.sealContext),
              let session = try? JSONDecoder().decode(Session.self, from: Data(plain)),
              session.expires > now().timeIntervalSince1970
        else { return nil }
        return try await keys.principal(for: session.key, source: source)
    }

    /// A form posted from another site is refused (the cookie is SameSite=Strict already;
    /// this also stops signing a victim in to someone else's account).
    static func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin], origin != "null" else { return }
        let host = request.head.authority ?? ""
        guard let url = URL(string: origin), let originHost = url.host else {
            throw SwitchboardError(.forbidden, "the request comes from another site")
        }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        guard originAuthority.lowercased() == host.lowercased() else {
            throw SwitchboardError(.forbidden, "the request comes from another site")
        }
    }

    /// A refused sign-in: the form again with the reason for a browser, the JSON envelope
    /// for anything else.
    func refusal(_ request: Request, _ message: String, status: HTTPResponse.Status, field: String) throws -> Response {
        if request.headers[.accept]?.contains("text/html") == true {
            return try page("sign-in", ["error": message], status: status)
        }
        let code: SwitchboardError.Code = status == .unauthorized ? .unauthorized : .invalidRequest
        throw SwitchboardError(code, message, field: field)
    }

    // MARK: Page

    /// The page's filter: `days`, `tz` and `channel_id`, each `invalid_request` (or, for a
    /// channel id that is not one, `not_found`) naming itself when bad.
    struct Filter {
        var days: Int
        var zoneName: String
        var zone: TimeZone
        var channelID: ChannelID?

        init(_ request: Request) throws {
            let query = AnalyticsRoutes.query(request)
            days = try query["days"].map { text in
                guard let days = Int(text), DashboardRoutes.periods.contains(days) else {
                    throw SwitchboardError.invalid(
                        "days must be one of \(DashboardRoutes.periods.map(String.init).joined(separator: ", "))", field: "days")
                }
                return days
            } ?? 30
            zoneName = query["tz"].flatMap { $0.isEmpty ? nil : $0 } ?? "UTC"
            guard let zone = AnalyticsRoutes.Parameters.timeZone(zoneName) else {
                throw SwitchboardError.invalid("tz must be an IANA time zone name, like UTC or Asia/Almaty", field: "tz")
            }
            self.zone = zone
            if let text = query["channel_id"], !text.isEmpty {
                guard let id = ChannelID(text) else { throw SwitchboardError(.notFound, "channel not found", field: "channel_id") }
                channelID = id
            }
        }
    }

    /// The page of figures; `base` is where it is served (`/dashboard`, or `/app/analytics`
    /// inside the team's workspace, whose navigation replaces the key session's sign-out).
    func dashboard(_ request: Request, filter: Filter, principal: TenantPrincipal, base: String = "/dashboard") async throws -> Response {
        let days = filter.days, zoneName = filter.zoneName, zone = filter.zone, channelID = filter.channelID
        // Whole days of the zone: today and the days before it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let to = now()
        let from = calendar.date(byAdding: .day, value: -(days - 1), to: calendar.startOfDay(for: to)) ?? to
        let filter = AnalyticsFilter(from: from, to: to, channelID: channelID)

        let tenant = try await tenants.tenant(principal.tenantID)
        let summary = try await analytics.summary(principal.tenantID, filter)
        let series = try await analytics.series(principal.tenantID, filter, sources: [.counts, .models], bucketing: .day(timeZone: zoneName))
        let list = try await channels.list(principal.tenantID, page: PageRequest(limit: 100)).data
        let names = Dictionary(uniqueKeysWithValues: list.map { ($0.id.description, $0.name) })

        let dayFormatter = DateFormatter()
        dayFormatter.locale = Locale(identifier: "en_US_POSIX")
        dayFormatter.timeZone = zone
        dayFormatter.dateFormat = "MMM d"
        let labels = series.map { dayFormatter.string(from: $0.start) }
        let messages = BarChart(
            labels: labels,
            series: [
                .init(name: "Inbound", color: "#2f6fdf", values: series.map { Double($0.figures.counts.inbound) }),
                .init(name: "AI answers", color: "#19a38a", values: series.map { Double($0.figures.counts.aiAnswers) }),
                .init(name: "Handoffs", color: "#c2410c", values: series.map { Double($0.figures.counts.handoffs) }),
            ],
            format: { Self.count($0) }
        )
        let spend = BarChart(
            labels: labels,
            series: [.init(name: "Credits", color: "#7c3aed", values: series.map { Double($0.figures.models.credits.micros) })],
            format: { Self.credits(Int64($0)) }
        )
        let figures = summary.figures
        let cards: [(String, AnalyticsMetric, String)] = [
            ("Inbound messages", .inboundMessages, Self.count(figures.value(of: .inboundMessages))),
            ("AI answers", .aiAnswers, Self.count(figures.value(of: .aiAnswers))),
            ("Handoff rate", .handoffRate, Self.percent(figures.value(of: .handoffRate))),
            ("AI-only resolution", .aiResolutionRate, Self.percent(figures.value(of: .aiResolutionRate))),
            ("First response p50", .firstResponseP50, Self.duration(figures.value(of: .firstResponseP50))),
            ("First response p90", .firstResponseP90, Self.duration(figures.value(of: .firstResponseP90))),
            ("Active contacts", .activeContacts, Self.count(figures.value(of: .activeContacts))),
            ("New contacts", .newContacts, Self.count(figures.value(of: .newContacts))),
            ("Conversations opened", .conversationsOpened, Self.count(figures.value(of: .conversationsOpened))),
            ("Answer latency p50", .answerLatencyP50, Self.duration(figures.value(of: .answerLatencyP50))),
            ("Provider errors", .providerErrors, Self.count(figures.value(of: .providerErrors))),
            ("Credits spent", .creditsSpent, Self.credits(figures.models.credits.micros)),
        ]
        let periodFormatter = DateFormatter()
        periodFormatter.locale = Locale(identifier: "en_US_POSIX")
        periodFormatter.timeZone = zone
        periodFormatter.dateFormat = "d MMM yyyy HH:mm"
        let context: [String: Any] = [
            "base": base, "keySession": base == "/dashboard",
            "title": "Analytics",
            "tenantName": tenant.name,
            "tz": zoneName,
            "periodText": "\(periodFormatter.string(from: from)) – \(periodFormatter.string(from: to)) (\(zoneName))"
                + (channelID.map { " · channel \(names[$0.description] ?? $0.description)" } ?? ""),
            "periods": Self.periods.map { ["days": $0, "label": $0 == 365 ? "Last year" : "Last \($0) days", "selected": $0 == days] as [String: Any] },
            "channels": list.map {
                ["id": $0.id.description, "name": $0.name, "kind": $0.kind, "selected": $0.id == channelID] as [String: Any]
            },
            "cards": cards.map { ["label": $0.0, "metric": $0.1.rawValue, "meaning": $0.1.meaning, "value": $0.2] },
            "charts": [
                ["title": "Messages per day", "series": messages.series.map { ["name": $0.name, "color": $0.color] },
                 "svg": messages.svg(title: "Messages per day")] as [String: Any],
                ["title": "Credits spent per day", "series": spend.series.map { ["name": $0.name, "color": $0.color] },
                 "svg": spend.svg(title: "Credits spent per day")] as [String: Any],
            ],
            "hasModels": !summary.byModel.isEmpty,
            "models": summary.byModel.map { line in
                [
                    "key": line.key ?? "—", "calls": Self.count(Double(line.counts.calls)), "errors": Self.count(Double(line.counts.errors)),
                    "fallbacks": Self.count(Double(line.counts.fallbacks)), "p50": Self.duration(line.latency.quantile(0.5)),
                    "p90": Self.duration(line.latency.quantile(0.9)), "input": Self.count(Double(line.counts.inputTokens)),
                    "cached": Self.count(Double(line.counts.cachedInputTokens)), "output": Self.count(Double(line.counts.outputTokens)),
                    "credits": Self.credits(line.counts.credits.micros),
                ]
            },
            "hasChannels": !summary.byChannel.isEmpty,
            "spendByChannel": summary.byChannel.map { line in
                [
                    "key": line.key.map { names[$0] ?? $0 } ?? "—", "calls": Self.count(Double(line.counts.calls)),
                    "input": Self.count(Double(line.counts.inputTokens)), "output": Self.count(Double(line.counts.outputTokens)),
                    "credits": Self.credits(line.counts.credits.micros),
                ]
            },
            "refreshedAt": summary.refreshedAt.map { periodFormatter.string(from: $0) } as Any,
        ]
        return try page("dashboard", context, status: .ok)
    }

    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status) throws -> Response {
        guard let html = templates.render(context, withTemplate: template) else {
            throw SwitchboardError(.internalError, "the \(template) page is missing from this build")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Formats

    /// A whole number with thousands separated by commas (`1,234,567`).
    static func count(_ value: Double?) -> String {
        guard let value else { return "—" }
        let digits = String(Int64(value.rounded()).magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "—" }
        return String(format: "%.1f %%", value * 100)
    }

    static func duration(_ milliseconds: Double?) -> String {
        guard let milliseconds else { return "—" }
        switch milliseconds {
        case ..<1000: return String(format: "%.0f ms", milliseconds)
        case ..<60_000: return String(format: "%.1f s", milliseconds / 1000)
        case ..<3_600_000: return String(format: "%.1f min", milliseconds / 60_000)
        default: return String(format: "%.1f h", milliseconds / 3_600_000)
        }
    }

    /// Micro-credits as credits, to the micro-credit.
    static func credits(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1_000_000)
        return "\(sign)\(magnitude / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
