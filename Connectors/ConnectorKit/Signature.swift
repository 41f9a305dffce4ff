import Crypto
import Foundation

/// Signature helpers every connector shares. Comparisons run in constant time, and
/// nothing here puts an expected value in an error.
public enum Signature {
    /// Whether two secrets are equal, in time that does not depend on where they differ
    /// (both are hashed first, and digests compare in constant time).
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        SHA256.hash(data: Data(lhs.utf8)) == SHA256.hash(data: Data(rhs.utf8))
    }

    /// Whether `hex` is the HMAC-SHA256 of `message` under `key`, checked in constant time.
    public static func isValidHMACSHA256(hex: String, message: [UInt8], key: [UInt8]) -> Bool {
        guard let code = bytes(hex: hex), code.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: message, using: SymmetricKey(data: key))
    }

    /// The HMAC-SHA256 of `message` under `key`: computed once, then compared with each
    /// candidate by `constantTimeEquals(hex:_:)`, where a header may carry several.
    public static func hmacSHA256(message: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Whether `hex` spells `expected`, in time that depends only on their lengths (every
    /// byte is compared; a malformed or wrong-length `hex` is simply not equal).
    public static func constantTimeEquals(hex: String, _ expected: [UInt8]) -> Bool {
        guard let code = bytes(hex: hex), code.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in code.indices { difference |= code[index] ^ expected[index] }
        return difference == 0
    }

    /// The lowercase hex HMAC-SHA256 of `message` under `key`, for signing outbound requests.
    public static func hmacSHA256Hex(message: [UInt8], key: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
            .map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}

extension Signature {
    /// A random secret of `bytes` bytes as lowercase hex (generated webhook and
    /// Telegram secret tokens: `[A-Za-z0-9_-]` only, as Telegram requires).
    public static func randomSecret(bytes: Int = 32) -> String {
        SymmetricKey(size: SymmetricKeySize(bitCount: bytes * 8)).withUnsafeBytes { buffer in
            buffer.map { String(format: "%02x", $0) }.joined()
        }
    }
}
