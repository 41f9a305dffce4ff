import Foundation

/// Which price book a provider's calls are charged from: the vendor whose servers answer
/// them, not only the kind the tenant declared.
///
/// A provider's kind names the protocol; its base URL names who serves it. An
/// `openai_compatible` provider whose base URL is `https://api.openai.com/v1` is OpenAI
/// billing us by OpenAI's list, so it is charged as `openai`, never at the compatible
/// price (which the operator may have set to zero for tenants' own servers). Hosts are
/// matched exactly or as a subdomain (`x.openai.azure.com`), after lowercasing and
/// dropping a trailing dot, as the resolver reads them.
public enum ProviderBilling {
    /// A hosted API the platform knows, and the kind of the price book it is charged from:
    /// nil for vendors without a book of their own (charged at the declared kind's price —
    /// the operator's `openai_compatible` price for a compatible provider).
    public static let knownHosts: [(suffix: String, kind: ProviderKind?)] = [
        ("api.openai.com", .openai),
        ("openai.azure.com", .openai),
        ("api.anthropic.com", .anthropic),
        ("generativelanguage.googleapis.com", .gemini),
        ("aiplatform.googleapis.com", .gemini),
        ("openrouter.ai", nil),
        ("api.groq.com", nil),
        ("api.mistral.ai", nil),
        ("api.deepseek.com", nil),
        ("api.together.xyz", nil),
        ("api.together.ai", nil),
        ("api.fireworks.ai", nil),
        ("api.x.ai", nil),
        ("api.perplexity.ai", nil),
        ("api.cohere.com", nil),
        ("api.cohere.ai", nil),
        ("api.cerebras.ai", nil),
        ("api.deepinfra.com", nil),
    ]

    /// The kind whose prices a call to `declared` at `baseURL` is charged at: the known
    /// vendor's whose host the URL names, else the declared kind. `local` makes no calls
    /// and stays `local`.
    public static func billedKind(declared: ProviderKind, baseURL: String?) -> ProviderKind {
        guard declared != .local, let host = host(of: baseURL) else { return declared }
        return knownHosts.first { matches(host, $0.suffix) }.map { $0.kind ?? declared } ?? declared
    }

    /// Whether `baseURL` names one of the known hosted APIs.
    public static func isKnownVendor(_ baseURL: String?) -> Bool {
        guard let host = host(of: baseURL) else { return false }
        return knownHosts.contains { matches(host, $0.suffix) }
    }

    /// The host itself or a subdomain of it; Vertex AI's regional hosts are
    /// `<region>-aiplatform.googleapis.com`.
    static func matches(_ host: String, _ suffix: String) -> Bool {
        host == suffix || host.hasSuffix("." + suffix) || (suffix == "aiplatform.googleapis.com" && host.hasSuffix("-" + suffix))
    }

    static func host(of baseURL: String?) -> String? {
        guard let baseURL, let host = URL(string: baseURL)?.host, !host.isEmpty else { return nil }
        var name = host.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
