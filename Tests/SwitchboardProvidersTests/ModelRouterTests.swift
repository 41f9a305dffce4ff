import SwitchboardProviders
import Testing

@Suite("Model router")
struct ModelRouterTests {
    @Test("moves on at once when Retry-After is longer than the router will wait")
    func longRetryAfter() async throws {
        let time = TestTime()
        let slow = ScriptedProvider([
            .failure(ModelProviderError(.rateLimited, "slow down", status: 429, retryAfter: .seconds(120)))
        ])
        let spare = ScriptedProvider([])
        let routed = try await time.router().complete(
            request((.user, "Hi")),
            chain: [
                RouteTarget(providerID: "slow", provider: slow, model: "m"),
                RouteTarget(providerID: "spare", provider: spare, model: "m"),
            ])
        #expect(routed.providerID == "spare")
        #expect(time.sleeps.isEmpty)
        #expect(slow.calls.count == 1)
    }

    @Test("tries targets in order and gives each its own model")
    func orderedFallback() async throws {
        let time = TestTime()
        let first = ScriptedProvider([.failure(.refusedKey)])
        let second = ScriptedProvider([.failure(ModelProviderError(.notFound, "no such model", status: 404))])
        let third = ScriptedProvider([.success("third answers")])
        let routed = try await time.router().complete(
            request(model: "original", (.user, "Hi")),
            chain: [
                RouteTarget(providerID: "1", provider: first, model: "m1"),
                RouteTarget(providerID: "2", provider: second, model: "m2"),
                RouteTarget(providerID: "3", provider: third, model: "m3"),
            ])
        #expect(routed.response.text == "third answers")
        #expect(routed.attempts.map(\.providerID) == ["1", "2", "3"])
        #expect([first.calls, second.calls, third.calls].map { $0.map(\.model) } == [["m1"], ["m2"], ["m3"]])
        #expect(time.sleeps.isEmpty)
    }

    @Test("caps the backoff at maxDelay")
    func backoffCap() async throws {
        let time = TestTime()
        let failing = ScriptedProvider([.failure(.server500), .failure(.server500), .failure(.server500), .failure(.server500)])
        let router = time.router(
            retry: RetryPolicy(maxAttempts: 4, baseDelay: .seconds(3), maxDelay: .seconds(8)),
            cooldown: CooldownPolicy(failureThreshold: 10))
        let failure = await routingFailure {
            try await router.complete(
                request((.user, "Hi")), chain: [RouteTarget(providerID: "a", provider: failing, model: "m")])
        }
        #expect(failure?.isRetryable == true)
        #expect(failure?.lastError.kind == .server)
        #expect(time.sleeps == [.seconds(3), .seconds(6), .seconds(8)])
    }

    @Test("uses the jitter it is given")
    func jitter() async throws {
        let time = TestTime()
        let router = ModelRouter(now: time.now, sleep: time.sleep, jitter: { $0 / 2 })
        let flaky = ScriptedProvider([.failure(.server500)])
        _ = try await router.complete(request((.user, "Hi")), chain: [RouteTarget(providerID: "a", provider: flaky, model: "m")])
        #expect(time.sleeps == [.milliseconds(125)])
    }

    @Test("the default jitter stays between zero and the backoff")
    func fullJitter() {
        for _ in 0..<100 {
            let jittered = ModelRouter.fullJitter(.seconds(1))
            #expect(jittered >= .zero && jittered <= .seconds(1))
        }
    }

    @Test("a handoff is a success")
    func handoffIsSuccess() async throws {
        let time = TestTime()
        let spare = ScriptedProvider([])
        let routed = try await time.router().complete(
            request((.user, "Something nobody asked before")),
            chain: [
                RouteTarget(providerID: "faq", provider: LocalFAQProvider(faq: []), model: "faq"),
                RouteTarget(providerID: "spare", provider: spare, model: "m"),
            ])
        #expect(routed.providerID == "faq")
        #expect(routed.response.finishReason == .handoff)
        #expect(spare.calls.isEmpty)
    }

    @Test("an empty chain is a failure nobody should retry")
    func emptyChain() async throws {
        let failure = await routingFailure { try await TestTime().router().complete(request((.user, "Hi")), chain: []) }
        #expect(failure?.isRetryable == false)
        #expect(failure?.attempts.isEmpty == true)
    }

    @Test("a success resets the failure count")
    func successResets() async throws {
        let time = TestTime()
        let router = time.router(retry: RetryPolicy(maxAttempts: 1), cooldown: CooldownPolicy(failureThreshold: 2))
        let provider = ScriptedProvider([.failure(.server500), .success("ok"), .failure(.server500), .success("ok")])
        let chain = [RouteTarget(providerID: "a", provider: provider, model: "m")]
        _ = await routingFailure { try await router.complete(request((.user, "1")), chain: chain) }
        _ = try await router.complete(request((.user, "2")), chain: chain)
        _ = await routingFailure { try await router.complete(request((.user, "3")), chain: chain) }
        #expect(router.coolingUntil("a") == nil)
        #expect(try await router.complete(request((.user, "4")), chain: chain).response.text == "ok")
        #expect(provider.calls.count == 4)
    }
}
