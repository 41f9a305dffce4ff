public import ConnectorKit
public import Foundation
import HTTPTypes

/// The Telegram Bot API channel (kind `telegram`).
///
/// Credentials: `bot_token` (from @BotFather) and `secret_token`, which Telegram echoes in
/// `X-Telegram-Bot-Api-Secret-Token` on every delivery; Switchboard generates it when the
/// tenant gives none. One delivery is one `Update`; its `update_id` is the dedupe key.
/// Nothing is downloaded at ingest: attachments carry Telegram's `file_id`.
public struct TelegramConnector: Connector {
    /// Telegram's public Bot API.
    public static let defaultAPIBase = URL(string: "https://api.telegram.org")!

    /// The longest text one `sendMessage` takes, in UTF-16 code units.
    public static let maximumTextLength = 4096

    /// The shortest `secret_token` a tenant may choose. Telegram takes 1 to 256 characters;
    /// the token is the only thing that authenticates a delivery, so a short one could be
    /// guessed by anyone who knows the channel's URL.
    public static let minimumSecretTokenLength = 16

    /// The update kinds `setWebhook` asks Telegram for.
    public static let allowedUpdates = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query"]

    /// `telegram`.
    public let kind = "telegram"

    /// The Bot API base URL; methods are called as `POST {apiBase}/bot{token}/{method}`.
    public let apiBase: URL

    /// A connector talking to `apiBase` (tests give a loopback address).
    public init(apiBase: URL = TelegramConnector.defaultAPIBase) {
        self.apiBase = apiBase
    }

    /// Checks `bot_token` (`<digits>:<35 or more of A-Za-z0-9_->`) and `secret_token`
    /// (16–256 of `A-Za-z0-9_-`, optional: generated and revealed once when absent).
    public func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        let known: Set<String> = ["bot_token", "secret_token"]
        if let unknown = submitted.keys.filter({ !known.contains($0) }).sorted().first {
            throw ConnectorError(
                .invalidCredentials, "unknown credential field \(unknown): a telegram channel takes bot_token and secret_token",
                field: unknown)
        }
        guard let token = submitted["bot_token"], !token.isEmpty else {
            throw ConnectorError(.invalidCredentials, "bot_token is required", field: "bot_token")
        }
        guard Self.isBotToken(token) else {
            throw ConnectorError(
                .invalidCredentials, "bot_token must look like <digits>:<35 or more letters, digits, _ or ->",
                field: "bot_token")
        }
        var stored = ["bot_token": token]
        var revealOnce: [String: String] = [:]
        if let secret = submitted["secret_token"] {
            guard (Self.minimumSecretTokenLength...256).contains(secret.utf8.count), secret.utf8.allSatisfy(Self.isTokenCharacter) else {
                throw ConnectorError(
                    .invalidCredentials,
                    "secret_token must be \(Self.minimumSecretTokenLength) to 256 letters, digits, _ or -", field: "secret_token")
            }
            stored["secret_token"] = secret
        } else {
            let secret = Signature.randomSecret()
            stored["secret_token"] = secret
            revealOnce["secret_token"] = secret
        }
        return PreparedCredentials(stored: stored, revealOnce: revealOnce)
    }

    /// Checks `X-Telegram-Bot-Api-Secret-Token` against the channel's `secret_token`, in
    /// constant time.
    public func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        guard let expected = credentials["secret_token"], !expected.isEmpty else {
            throw ConnectorError(.unauthorized, "the channel has no secret_token")
        }
        guard let presented = delivery.headers[.telegramSecretToken],
            Signature.constantTimeEquals(presented, expected)
        else {
            throw ConnectorError(.unauthorized, "the X-Telegram-Bot-Api-Secret-Token header is missing or does not match")
        }
    }

    static func isBotToken(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return false }
        let id = bytes[..<colon]
        let secret = bytes[(colon + 1)...]
        return id.allSatisfy { (0x30...0x39).contains($0) } && secret.count >= 35 && secret.allSatisfy(isTokenCharacter)
    }

    /// `A-Za-z0-9_-`: the characters Telegram allows in bot-token secrets and secret tokens.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}

extension TelegramConnector: DescribedConnector {
    public static let description = ConnectorDescription(
        kind: "telegram",
        apiBase: .init(setting: "TELEGRAM_API_BASE", defaultURL: defaultAPIBase, help: "Telegram Bot API base"),
        subProcessor: .init(name: "Telegram FZ-LLC (Telegram Bot API)", region: "ae"),
        arrival: .pushed
    )

    public static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> TelegramConnector {
        TelegramConnector(apiBase: apiBase ?? defaultAPIBase)
    }
}
