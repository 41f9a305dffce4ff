import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import Synchronization
import Testing

/// A signed-in person, as a browser holds them: the session cookie and the CSRF token.
struct TeamSession: Sendable {
    var cookie: String
    var csrf: String
    var userID: String
    var tenantID: String
}

/// The team's tests run bcrypt at its lowest cost: the cost is a setting, not the subject.
func withTeamApp<Result: Sendable>(
    now: @escaping @Sendable () -> Date = Date.init,
    configure: @escaping (inout AppConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol) async throws -> Result
) async throws -> Result {
    try await withApp(configure: { configuration in
        configuration.bcryptCost = 4
        configure(&configuration)
    }, now: now, body)
}

func uniqueEmail(_ who: String = "person") -> String {
    "\(who)-\(UUID().uuidString.prefix(8).lowercased())@example.com"
}

/// The session a successful sign-in, sign-up or acceptance answered.
func session(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> TeamSession {
    #expect([.ok, .created].contains(response.status), "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
    let setCookie = try #require(response.headers[.setCookie], sourceLocation: sourceLocation)
    let cookie = try #require(setCookie.split(separator: ";").first.map(String.init), sourceLocation: sourceLocation)
    let body = try object(response)
    let user = try #require(body["user"] as? [String: Any], sourceLocation: sourceLocation)
    let tenant = try #require(body["tenant"] as? [String: Any], sourceLocation: sourceLocation)
    return TeamSession(
        cookie: cookie, csrf: try #require(body["csrf_token"] as? String, sourceLocation: sourceLocation),
        userID: try #require(user["id"] as? String), tenantID: try #require(tenant["id"] as? String)
    )
}

func signUp(_ client: any TestClientProtocol, company: String = "Acme", email: String, password: String = "correct horse battery") async throws
    -> TeamSession
{
    try await client.execute(
        uri: "/auth/sign-up", method: .post, headers: headers(),
        body: json(["company": company, "email": email, "password": password])
    ) { try session($0) }
}

func signIn(
    _ client: any TestClientProtocol, email: String, password: String = "correct horse battery", totp: String? = nil,
    recovery: String? = nil
) async throws -> TestResponse {
    var fields: [String: Any] = ["email": email, "password": password]
    fields["totp_code"] = totp
    fields["recovery_code"] = recovery
    return try await client.execute(uri: "/auth/sign-in", method: .post, headers: headers(), body: json(fields)) { $0 }
}

/// A call as the signed-in person: the cookie, and the CSRF token unless `csrf` says otherwise.
func call(
    _ client: any TestClientProtocol, _ session: TeamSession, _ method: HTTPRequest.Method, _ uri: String, body: [String: Any]? = nil,
    csrf: String?? = .none
) async throws -> TestResponse {
    var fields = headers()
    fields[.cookie] = session.cookie
    let token: String? = csrf ?? session.csrf
    if let token { fields[HTTPField.Name("X-CSRF-Token")!] = token }
    return try await client.execute(uri: uri, method: method, headers: fields, body: body.map(json)) { $0 }
}

/// Invites `email` as `role` and accepts the invitation: the new person's session.
func invite(
    _ client: any TestClientProtocol, by inviter: TeamSession, email: String, role: String, password: String = "correct horse battery"
) async throws -> TeamSession {
    let invitation = try await call(client, inviter, .post, "/v1/users/invitations", body: ["email": email, "role": role])
    #expect(invitation.status == .created, "body: \(String(buffer: invitation.body))")
    let url = try #require(try object(invitation)["invitation_url"] as? String)
    let token = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "token" }?.value)
    return try await client.execute(
        uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": token, "password": password])
    ) { try session($0) }
}

/// RFC 6238 written out here (not the server's code): the six digits an authenticator app
/// shows at `date` for a base32 secret.
func totpCode(base32 secret: String, at date: Date) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    var bytes: [UInt8] = []
    var buffer = 0, bits = 0
    for character in secret where character != "=" {
        guard let value = alphabet.firstIndex(of: character) else { continue }
        buffer = (buffer << 5) | value
        bits += 5
        if bits >= 8 {
            bytes.append(UInt8((buffer >> (bits - 8)) & 0xFF))
            bits -= 8
        }
    }
    var counter = UInt64(date.timeIntervalSince1970 / 30).bigEndian
    let message = withUnsafeBytes(of: &counter) { Array($0) }
    let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: bytes)))
    let offset = Int(mac[mac.count - 1] & 0x0F)
    let value = (Int(mac[offset] & 0x7F) << 24) | (Int(mac[offset + 1]) << 16) | (Int(mac[offset + 2]) << 8) | Int(mac[offset + 3])
    return String(format: "%06d", value % 1_000_000)
}

/// A clock the team's tests set by hand (TOTP codes are computed at it).
final class ManualClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
