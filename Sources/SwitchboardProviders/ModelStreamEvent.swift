/// One event of a streamed answer.
///
/// A stream is a run of `.delta`s and then exactly one `.finished`, whose response carries
/// the whole text and the usage. A stream that ends without `.finished`, or throws, failed:
/// its deltas are not an answer (``ModelRouter/collect(_:)`` turns that into
/// ``ModelProviderError/Kind/streamInterrupted``).
public enum ModelStreamEvent: Sendable, Hashable {
    /// The next piece of the answer text.
    case delta(String)
    /// The stream completed; the response holds the full text.
    case finished(ModelResponse)
}
