/// One event of a streamed answer.
///
/// A stream is a run of `.delta`s (and `.toolCall`s) and then exactly one `.finished`, whose response carries
/// the whole text and the usage. A stream that ends without `.finished`, or throws, failed:
/// its deltas are not an answer (``ModelRouter/collect(_:)`` turns that into
/// ``ModelProviderError/Kind/streamInterrupted``).
public enum ModelStreamEvent: Sendable, Hashable {
    /// The next piece of the answer text.
    case delta(String)
    /// A tool call, complete (assembled from the provider's fragments); once per call, in
    /// order. The `.finished` response holds them all again.
    case toolCall(ModelToolCall)
    /// The stream completed; the response holds the full text.
    case finished(ModelResponse)
}
