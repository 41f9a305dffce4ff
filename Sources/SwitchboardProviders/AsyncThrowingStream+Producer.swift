extension AsyncThrowingStream where Failure == any Error {
    /// A stream fed by `producer` in a task of its own: it finishes when `producer` returns,
    /// fails with what it throws, and cancels `producer` when the consumer stops listening.
    static func producing(
        _ producer: @escaping @Sendable (AsyncThrowingStream<Element, any Error>.Continuation) async throws -> Void
    ) -> AsyncThrowingStream<Element, any Error> where Element: Sendable {
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream()
        let task = Task {
            do {
                try await producer(continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
