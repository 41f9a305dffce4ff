import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Provider errors over HTTP")
struct ProviderErrorTests {
    static let key = "sk-secret-key-0123456789"

    func provider(_ server: FakeModelServer, _ transport: some ProviderTransport, timeout: Duration = .seconds(60))
        -> OpenAIChatProvider
    {
        OpenAIChatProvider(
            endpoint: ProviderEndpoint(kind: .openai, baseURL: server.openAIBase, apiKey: Self.key), transport: transport,
            timeout: timeout)
    }

    func failure(_ behaviour: FakeModelBehaviour) async throws -> ModelProviderError? {
        try await withFakeServer { server, transport in
            await server.enqueue(behaviour)
            return await providerError { try await provider(server, transport).complete(request((.user, "Hi"))) }
        }
    }

    @Test(
        "maps statuses to kinds",
        arguments: [
            (401, ModelProviderError.Kind.unauthorized), (403, .unauthorized), (400, .badRequest), (422, .badRequest),
            (413, .badRequest), (404, .notFound), (408, .rateLimited), (409, .rateLimited), (429, .rateLimited),
            (500, .server), (502, .server), (503, .server),
        ])
    func statuses(status: Int, kind: ModelProviderError.Kind) async throws {
        let error = try #require(try await failure(.status(status)))
        #expect(error.kind == kind)
        #expect(error.status == status)
        #expect(error.isRetryable == [.rateLimited, .server].contains(kind))
    }

    @Test("never repeats the API key the provider quoted back", arguments: [401, 400, 404, 429, 500])
    func keyNeverInMessage(status: Int) async throws {
        let error = try #require(try await failure(.status(status)))
        #expect(!error.message.contains(Self.key))
        #expect(!error.description.contains(Self.key))
        #expect(!String(reflecting: error).contains(Self.key))
    }

    @Test("keeps a short excerpt of the provider's own words")
    func excerpt() async throws {
        let long = String(repeating: "x", count: 5000)
        let error = try #require(try await failure(.status(400, body: #"{"error": {"message": "model is required \#(long)"}}"#)))
        #expect(error.message.contains("model is required"))
        #expect(error.message.count < 300)
    }

    @Test("reads Retry-After in seconds")
    func retryAfterSeconds() async throws {
        let error = try #require(try await failure(.status(429, retryAfter: "2")))
        #expect(error.retryAfter == .seconds(2))
    }

    @Test("a 2xx that is not JSON is malformed, not a crash")
    func malformed() async throws {
        #expect(try await failure(.malformed)?.kind == .malformedResponse)
        #expect(try await failure(.breakStream(after: 1))?.kind == .malformedResponse)
    }

    @Test("a redirect is not followed")
    func redirect() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.status(307))
            let error = await providerError { try await provider(server, transport).complete(request((.user, "Hi"))) }
            #expect(error?.kind == .badRequest)
            #expect(error?.message.contains("redirect") == true)
            #expect(await server.requests.count == 1)
        }
    }

    @Test("a call slower than the provider's timeout is a timeout")
    func timeout() async throws {
        try await withFakeServer { server, transport in
            // The margins are wide: on a loaded CI machine a 100 ms timer may fire late, but
            // never anywhere near the 3 s the server would take.
            await server.enqueue(.delay(.seconds(3)))
            let clock = ContinuousClock()
            let started = clock.now
            let error = await providerError {
                try await provider(server, transport, timeout: .milliseconds(100)).complete(request((.user, "Hi")))
            }
            #expect(error?.kind == .timeout)
            #expect(clock.now - started < .milliseconds(2500))
        }
    }

    @Test("a streamed call slower than the timeout is a timeout")
    func streamTimeout() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.delay(.seconds(3)))
            let (_, error) = await drain(provider(server, transport, timeout: .milliseconds(100)).stream(request((.user, "Hi"))))
            #expect((error as? ModelProviderError)?.kind == .timeout)
        }
    }

    @Test("a refused connection is a network error")
    func refusedConnection() async throws {
        try await withTransport(allowPrivate: true) { _, gate in
            // A connect timeout far beyond the bound below: a pool that retried the refused
            // connection until it ran out would take a minute, while an answer at once takes
            // well under a second (and 4.6 s was seen on a loaded CI machine: a 5 s timeout
            // left no room to tell the two apart).
            let transport = AsyncHTTPProviderTransport(gate: gate, connectTimeout: .seconds(60))
            let provider = OpenAIChatProvider(
                endpoint: ProviderEndpoint(kind: .openaiCompatible, baseURL: "http://127.0.0.1:1/v1"), transport: transport)
            let clock = ContinuousClock()
            let started = clock.now
            let error = await providerError { try await provider.complete(request((.user, "Hi"))) }
            let elapsed = clock.now - started
            try await transport.shutdown()
            #expect(error?.kind == .network)
            #expect(elapsed < .seconds(30), "the pool must not retry the connection until the connect timeout")
            #expect(error?.isRetryable == true)
        }
    }

    @Test("an openai_compatible endpoint without a base URL fails before calling")
    func missingBaseURL() async throws {
        let provider = makeModelProvider(ProviderEndpoint(kind: .openaiCompatible), faq: [], transport: UnusedTransport())
        let error = await providerError { try await provider.complete(request((.user, "Hi"))) }
        #expect(error?.kind == .badRequest)
    }
}

/// A transport that fails the test if anything is sent.
struct UnusedTransport: ProviderTransport {
    func send(_ request: ProviderHTTPRequest, timeout: Duration) async throws -> ProviderHTTPResponse {
        Issue.record("unexpected call to \(request.url)")
        throw ModelProviderError(.network, "unused")
    }

    func stream(_ request: ProviderHTTPRequest, timeout: Duration) async throws -> (
        ProviderHTTPResponseHead, AsyncThrowingStream<[UInt8], any Error>
    ) {
        Issue.record("unexpected call to \(request.url)")
        throw ModelProviderError(.network, "unused")
    }
}
