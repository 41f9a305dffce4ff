/// How providers reach the network: production uses ``AsyncHTTPProviderTransport``; a test
/// may put a recording or scripted transport in its place and reuse every provider as is.
///
/// A transport sends exactly what it is given and follows no redirects: a 3xx comes back as
/// the answer. It reports failures as ``ModelProviderError`` (`.timeout`,
/// `.network`, `.malformedResponse` for a body over its limit); providers treat any other
/// error as `.network`.
public protocol ProviderTransport: Sendable {
    /// Sends a request and collects the whole answer, all within `timeout`.
    func send(_ request: ProviderHTTPRequest, timeout: Duration) async throws -> ProviderHTTPResponse

    /// Sends a request and returns the answer's head with its body as a stream of chunks.
    ///
    /// `timeout` bounds the whole exchange, the streamed body included: when it passes, the
    /// body stream throws `.timeout`. Ending iteration of the body early cancels the request.
    func stream(
        _ request: ProviderHTTPRequest, timeout: Duration
    ) async throws -> (ProviderHTTPResponseHead, AsyncThrowingStream<[UInt8], any Error>)
}
