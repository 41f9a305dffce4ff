public import Crypto
import Foundation
public import SwitchboardCore

/// Seals secrets at rest with AES-GCM under the master key. Each sealed value is bound to
/// where it belongs (associated data such as `channel:<tenant>:<channel>`), so a sealed
/// blob copied into another row, or another tenant's, does not open.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    public init(masterKey: SymmetricKey) {
        // A key of its own for this purpose, derived from the master key.
        self.key = SymmetricKey(data: HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey, info: Data("switchboard.secret-box.v1".utf8), outputByteCount: 32
        ))
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw SwitchboardError(.internalError, "sealing failed") }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Data(context.utf8)))
        } catch {
            // A wrong master key or a blob from another row: never say more than that.
            throw SwitchboardError(.internalError, "stored secrets could not be opened (is SWITCHBOARD_MASTER_KEY the one they were sealed with?)")
        }
    }

    /// The associated data of a channel's credentials.
    public static func channelContext(_ tenant: TenantID, _ channel: ChannelID) -> String {
        "channel:\(tenant):\(channel)"
    }

    public func sealCredentials(_ values: [String: String], tenant: TenantID, channel: ChannelID) throws -> [UInt8] {
        try seal(Array(try JSONEncoder().encode(values)), context: Self.channelContext(tenant, channel))
    }

    public func openCredentials(_ sealed: [UInt8], tenant: TenantID, channel: ChannelID) throws -> [String: String] {
        let plaintext = try open(sealed, context: Self.channelContext(tenant, channel))
        return try JSONDecoder().decode([String: String].self, from: Data(plaintext))
    }
}

extension SecretBox {
    /// The associated data of a provider's API key.
    public static func providerContext(_ tenant: TenantID, _ provider: ProviderID) -> String {
        "provider:\(tenant):\(provider)"
    }

    public func sealAPIKey(_ key: String, tenant: TenantID, provider: ProviderID) throws -> [UInt8] {
        try seal(Array(key.utf8), context: Self.providerContext(tenant, provider))
    }

    public func openAPIKey(_ sealed: [UInt8], tenant: TenantID, provider: ProviderID) throws -> String {
        String(decoding: try open(sealed, context: Self.providerContext(tenant, provider)), as: UTF8.self)
    }
}
