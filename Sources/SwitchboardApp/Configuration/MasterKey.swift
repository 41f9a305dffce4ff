public import Crypto
public import Foundation
public import Logging
import SwitchboardPostgres
public import SwitchboardPipeline

/// The 32-byte key that protects secrets at rest (AES-GCM) and from which the app role's
/// database password is derived.
///
/// From `SWITCHBOARD_MASTER_KEY` (base64), else from `$SWITCHBOARD_HOME/master.key`,
/// generated there with mode 0600 on first start, with a warning: losing that file loses
/// every stored secret.
public struct MasterKey: Sendable {
    public let key: SymmetricKey

    public init(_ key: SymmetricKey) { self.key = key }

    public static func resolve(configured: String?, home: URL, logger: Logger) throws -> MasterKey {
        if let configured {
            guard let data = Data(base64Encoded: configured), data.count == 32 else {
                throw ConfigurationError("SWITCHBOARD_MASTER_KEY must be the base64 form of exactly 32 bytes (openssl rand -base64 32)")
            }
            return MasterKey(SymmetricKey(data: data))
        }
        let file = home.appendingPathComponent("master.key")
        if let text = FileManager.default.contents(atPath: file.path).flatMap({ String(data: $0, encoding: .utf8) }) {
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
                throw ConfigurationError("\(file.path) does not hold a base64 32-byte key")
            }
            return MasterKey(SymmetricKey(data: data))
        }
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() }
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot write the generated master key to \(file.path)")
        }
        logger.warning(
            "SWITCHBOARD_MASTER_KEY is not set: generated a master key; back it up, losing it loses every stored secret",
            metadata: ["key.file": "\(file.path)"]
        )
        return MasterKey(key)
    }

    /// A purpose-bound secret derived from the master key (HMAC-SHA256), as hex.
    public func derive(_ purpose: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// The app role's PostgreSQL password.
    public var appRolePassword: String {
        Migrator.appRolePassword(masterKey: key.withUnsafeBytes { Array($0) })
    }
}

extension SecretBox {
    public init(masterKey: MasterKey) {
        self.init(masterKey: masterKey.key)
    }
}
