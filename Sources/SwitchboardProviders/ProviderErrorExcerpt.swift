import Foundation

/// A short, key-free excerpt of a provider's error message, read from the shape all three
/// protocols share: `{"error": {"message": "…"}}` (OpenAI, Gemini, and Anthropic inside its
/// `{"type": "error", …}` envelope). Anything else yields no excerpt, never the raw body.
enum ProviderErrorExcerpt {
    static let maximumLength = 200

    struct Envelope: Decodable {
        struct Detail: Decodable {
            var message: String?
        }
        var error: Detail?
    }

    static func from(_ body: [UInt8], secrets: [String]) -> String? {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(body)),
            let message = envelope.error?.message
        else { return nil }
        return clean(message, secrets: secrets)
    }

    /// One line of at most ``maximumLength`` characters with every secret replaced.
    static func clean(_ message: String, secrets: [String]) -> String? {
        var text = message
        for secret in secrets where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        text = text.split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        return text.count > maximumLength ? String(text.prefix(maximumLength)) + "…" : text
    }
}
