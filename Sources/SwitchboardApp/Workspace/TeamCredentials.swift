import Crypto
import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import NIOPosix
import SwitchboardCore

/// Passwords of the team: bcrypt (HummingbirdBcrypt), hashed and checked off the event
/// loops, on NIO's thread pool (a hash at cost 12 takes a core for about a quarter second).
struct Passwords: Sendable {
    let cost: Int

    static let minimumLength = 10

    /// A new password: 10 to 72 characters, no NUL (`FieldRule.password`).
    static func check(_ password: String, field: String = "password") throws -> String {
        let checked = try FieldRule.password.check(password, field: field)
        guard checked.unicodeScalars.count >= minimumLength else {
            throw SwitchboardError.invalid("\(field) must be at least \(minimumLength) characters", field: field)
        }
        return checked
    }

    /// What bcrypt is given: bcrypt reads 72 bytes, so a longer password (72 Cyrillic
    /// characters are 144 bytes) is given as the base64 of its SHA-256 instead of being cut.
    static func prepared(_ password: String) -> String {
        guard password.utf8.count > 72 else { return password }
        return Data(SHA256.hash(data: Array(password.utf8))).base64EncodedString()
    }

    func hash(_ password: String) async throws -> String {
        let cost = UInt8(clamping: cost)
        let input = Self.prepared(password)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(input, cost: cost) }
    }

    func verify(_ password: String, hash: String) async throws -> Bool {
        let input = Self.prepared(password)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(input, hash: hash) }
    }

    /// A hash nobody's password matches, checked when an address is unknown so that a miss
    /// costs as long as a wrong password (no timing oracle for who has an account).
    func dummyHash() async throws -> String {
        try await hash(String(repeating: "x", count: 16))
    }
}

/// The second factor: RFC 6238 codes (HummingbirdOTP's `TOTP`, 6 digits, 30 s, SHA-1, as
/// every authenticator app expects), and one-time recovery codes.
enum TwoFactor {
    static let timeStep = 30
    static let sealContext = "totp-secret"
    static let base32Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// A new shared secret: 20 characters (HummingbirdOTP keys its HMAC with the secret's
    /// UTF-8 bytes, and shows the app their base32).
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in base32Alphabet[Int(generator.next(upperBound: UInt32(32)))] })
    }

    /// What the person types into an authenticator app: the base32 of the key's bytes.
    static func base32(_ secret: String) -> String {
        let bytes = Array(secret.utf8)
        var output = ""
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(base32Alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(base32Alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }

    static func authenticatorURL(secret: String, account: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "Switchboard:\(account)", issuer: "Switchboard")
    }

    /// The time step `code` is right for — now, or one step either side for clocks that
    /// drift — or `nil`. Codes are six ASCII digits; anything else is simply wrong.
    static func matchingStep(code: String, secret: String, now: Date) -> Int64? {
        let digits = code.filter { $0 != " " }
        guard digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
        let totp = TOTP(secret: secret)
        let current = Int64(now.timeIntervalSince1970) / Int64(timeStep)
        for step in [current, current - 1, current + 1] {
            let at = Date(timeIntervalSince1970: TimeInterval(step * Int64(timeStep)))
            if totp.compute(date: at) == value { return step }
        }
        return nil
    }

    /// Ten recovery codes, `xxxxx-xxxxx` of lower-case base32: shown once, stored hashed.
    static func recoveryCodes() -> [String] {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        return (0..<10).map { _ in
            let characters = (0..<10).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] }
            return String(characters[0..<5]) + "-" + String(characters[5...])
        }
    }

    static func recoveryHash(_ code: String) -> [UInt8] {
        let normalized = code.lowercased().filter { $0.isLetter || $0.isNumber }
        return Array(SHA256.hash(data: Array(normalized.utf8)))
    }
}

/// A token that names its tenant: `<tenant id>.<secret>`. Session cookies and invitation
/// and verification links are such tokens, so their rows are found inside the tenant
/// (no global table) and only the secret's SHA-256 is stored.
struct TenantToken: Sendable {
    let tenant: TenantID
    let secret: String

    init(tenant: TenantID, secret: String = TenantToken.randomSecret()) {
        self.tenant = tenant
        self.secret = secret
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard text.utf8.count <= 200, parts.count == 2, let tenant = TenantID(String(parts[0])), parts[1].utf8.count >= 32 else {
            return nil
        }
        self.tenant = tenant
        self.secret = String(parts[1])
    }

    var text: String { "\(tenant).\(secret)" }
    var hash: [UInt8] { Self.hash(secret) }

    static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }

    /// 32 random bytes, base64url without padding.
    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
