public import SwitchboardCore

/// Where and how to reach one configured provider.
public struct ProviderEndpoint: Sendable, Hashable {
    public var kind: ProviderKind
    /// The base URL; `nil` means the kind's public default (``ProviderKind/defaultBaseURL``).
    /// For `openai_compatible` it includes the version path, as in `http://host:11434/v1`.
    public var baseURL: String?
    /// The API key; `nil` sends no credentials (local servers).
    public var apiKey: String?

    public init(kind: ProviderKind, baseURL: String? = nil, apiKey: String? = nil) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
    }

    /// The base URL to call, without a trailing slash, or `nil` when there is none.
    public var resolvedBaseURL: String? {
        guard var base = baseURL ?? kind.defaultBaseURL, !base.isEmpty else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}
