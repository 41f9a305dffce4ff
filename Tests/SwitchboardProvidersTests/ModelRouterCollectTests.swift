import SwitchboardProviders
import Testing

@Suite("Collecting streams")
struct ModelRouterCollectTests {
    @Test("collect turns a stream without .finished into streamInterrupted")
    func collectWithoutFinished() async throws {
        let (stream, continuation) = AsyncThrowingStream<ModelStreamEvent, any Error>.makeStream()
        continuation.yield(.delta("half an "))
        continuation.finish()
        let error = await providerError { try await ModelRouter.collect(stream) }
        #expect(error?.kind == .streamInterrupted)
    }

    @Test("collect keeps the error of a stream that failed before any text")
    func collectEarlyError() async throws {
        let (stream, continuation) = AsyncThrowingStream<ModelStreamEvent, any Error>.makeStream()
        continuation.finish(throwing: ModelProviderError.refusedKey)
        #expect(await providerError { try await ModelRouter.collect(stream) }?.kind == .unauthorized)
    }

    @Test("collect returns the finished response")
    func collectFinished() async throws {
        let response = ModelResponse(text: "whole", usage: .zero, finishReason: .stop, model: "m", latency: .zero)
        let (stream, continuation) = AsyncThrowingStream<ModelStreamEvent, any Error>.makeStream()
        continuation.yield(.delta("who"))
        continuation.yield(.delta("le"))
        continuation.yield(.finished(response))
        continuation.finish()
        #expect(try await ModelRouter.collect(stream) == response)
    }
}
