import Hummingbird
import SwitchboardCore
import SwitchboardPostgres

/// Journals every API request that reads or changes personal data — the routes under
/// `/v1/contacts`, `/v1/conversations` and `/v1/deals` — and every change a signed-in person
/// makes anywhere (PRIVACY.md's duty to name the person who acted), as `<METHOD> <route>`
/// by the request's key or person, about the subject the path names. The entry is written by the
/// request's first committed tenant transaction (see `Audit`), so it commits with the
/// operation; a request that committed none gets it written after a success.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext
    let journal: PostgresAuditStore

    static let subjects: [(prefix: String, kind: String)] = [
        ("/v1/contacts", "contact"), ("/v1/conversations", "conversation"), ("/v1/deals", "deal"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = context.endpointPath else { return try await next(request, context) }
        let kind: String
        if let subject = Self.subjects.first(where: { route == $0.prefix || route.hasPrefix($0.prefix + "/") }) {
            kind = subject.kind
        } else if context.principal.userID != nil, ![.get, .head, .options].contains(request.method) {
            // A person's change elsewhere: the subject is the route's family (`users`, `api-keys`).
            kind = route.split(separator: "/").dropFirst().first.map(String.init) ?? "tenant"
        } else {
            return try await next(request, context)
        }
        let intent = AuditIntent(
            tenant: context.tenantID, actor: context.principal.actor.journalName, action: "\(request.method.rawValue) \(route)",
            subjectKind: kind, subjectID: context.parameters.get("id")
        )
        let response = try await Audit.$intent.withValue(intent) { try await next(request, context) }
        if (200..<300).contains(response.status.code), !intent.isWritten {
            try await journal.append(intent)
        }
        return response
    }
}
