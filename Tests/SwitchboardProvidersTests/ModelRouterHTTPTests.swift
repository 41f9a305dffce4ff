import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

/// The router over real HTTP to the fake servers: retries, fallback and cooldown as the
/// providers see them.
@Suite("Model router over HTTP")
struct ModelRouterHTTPTests {
    func openAI(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> OpenAIChatProvider {
        OpenAIChatProvider(
            endpoint: ProviderEndpoint(kind: .openai, baseURL: server.openAIBase, apiKey: "sk-a"), transport: transport)
    }

    func anthropic(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> AnthropicProvider {
        AnthropicProvider(
            endpoint: ProviderEndpoint(kind: .anthropic, baseURL: server.anthropicBase, apiKey: "sk-b"), transport: transport)
    }

    @Test("waits exactly the Retry-After of a 429, then succeeds on the same target")
    func retryAfter() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.status(429, retryAfter: "2"))
            let time = TestTime()
            let routed = try await time.router().complete(
                request((.user, "Hi")), chain: [RouteTarget(providerID: "a", provider: openAI(server, transport), model: "gpt-a")]
            )
            #expect(time.sleeps == [.seconds(2)])
            #expect(routed.providerID == "a")
            #expect(routed.response.text == "reply to: Hi")
            #expect(routed.attempts.map(\.error?.kind) == [.rateLimited, nil])
            #expect(await server.requests.count == 2)
        }
    }

    @Test("does not retry 401 and reports a failure nobody should retry")
    func unauthorized() async throws {
        try await withFakeServer { server, transport in
            await server.setDefault(.status(401))
            let time = TestTime()
            let failure = await routingFailure {
                try await time.router().complete(
                    request((.user, "Hi")),
                    chain: [
                        RouteTarget(providerID: "a", provider: openAI(server, transport), model: "gpt-a"),
                        RouteTarget(providerID: "b", provider: anthropic(server, transport), model: "claude-b"),
                    ])
            }
            let routing = try #require(failure)
            #expect(routing.isRetryable == false)
            #expect(routing.lastError.kind == .unauthorized)
            #expect(routing.attempts.map(\.providerID) == ["a", "b"])
            #expect(routing.attempts.allSatisfy { $0.error?.kind == .unauthorized })
            #expect(time.sleeps.isEmpty)
            #expect(await server.requests.count == 2)
        }
    }

    @Test("falls back to the next target after three 500s, backing off exponentially")
    func fallbackAfterServerErrors() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.status(500), .status(500), .status(500))
            let time = TestTime()
            let routed = try await time.router().complete(
                request(model: "ignored", (.user, "Hi")),
                chain: [
                    RouteTarget(providerID: "a", provider: openAI(server, transport), model: "gpt-a"),
                    RouteTarget(providerID: "b", provider: anthropic(server, transport), model: "claude-b"),
                ])
            #expect(routed.providerID == "b")
            #expect(routed.model == "claude-b")
            #expect(routed.response.text == "reply to: Hi")
            #expect(routed.attempts.map(\.providerID) == ["a", "a", "a", "b"])
            #expect(routed.attempts.map(\.error?.kind) == [.server, .server, .server, nil])
            #expect(routed.attempts.last?.usage == routed.response.usage)
            #expect(time.sleeps == [.milliseconds(250), .milliseconds(500)])
            let requests = await server.requests
            #expect(requests.map(\.api) == [.openAI, .openAI, .openAI, .anthropic])
            #expect(requests.map { $0.json?["model"]?.string } == ["gpt-a", "gpt-a", "gpt-a", "claude-b"])
        }
    }

    @Test("retries a malformed answer")
    func malformedIsRetried() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.malformed)
            let time = TestTime()
            let routed = try await time.router().complete(
                request((.user, "Hi")), chain: [RouteTarget(providerID: "a", provider: openAI(server, transport), model: "m")])
            #expect(routed.attempts.map(\.error?.kind) == [.malformedResponse, nil])
            #expect(routed.response.text == "reply to: Hi")
        }
    }

    @Test("skips a provider in cooldown without calling it, and calls it again once the cooldown is over")
    func cooldown() async throws {
        try await FakeModelServer.withServer { failing in
            try await withFakeServer { healthy, transport in
                await failing.setDefault(.status(503))
                let time = TestTime()
                let router = time.router(cooldown: CooldownPolicy(failureThreshold: 3, duration: .seconds(30)))
                let chain = [
                    RouteTarget(providerID: "flaky", provider: openAI(failing, transport), model: "m"),
                    RouteTarget(providerID: "steady", provider: anthropic(healthy, transport), model: "m"),
                ]
                let first = try await router.complete(request((.user, "one")), chain: chain)
                #expect(first.providerID == "steady")
                #expect(await failing.requests.count == 3)
                #expect(router.coolingUntil("flaky") != nil)

                let second = try await router.complete(request((.user, "two")), chain: chain)
                #expect(second.providerID == "steady")
                #expect(second.attempts.map(\.error?.kind) == [.cooldown, nil])
                #expect(second.attempts.first?.latency == .zero)
                #expect(await failing.requests.count == 3)

                time.advance(by: .seconds(31))
                await failing.setDefault(.echo)
                let third = try await router.complete(request((.user, "three")), chain: chain)
                #expect(third.providerID == "flaky")
                #expect(third.response.text == "reply to: three")
                #expect(await failing.requests.count == 4)
                #expect(router.coolingUntil("flaky") == nil)
            }
        }
    }
}
