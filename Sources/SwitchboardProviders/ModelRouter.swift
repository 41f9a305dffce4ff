import Synchronization

/// Calls a chain of providers in order with retries, backoff and per-provider cooldowns,
/// until one answers.
///
/// For each target: skip it when its provider is cooling down (recorded as a `.cooldown`
/// attempt, no call made); else call it up to ``RetryPolicy/maxAttempts`` times. A retryable
/// error waits the provider's `Retry-After` when it gave one — or moves on at once when
/// that is over ``RetryPolicy/maxRetryAfter`` — else `min(maxDelay, jitter(baseDelay · 2ⁿ))`.
/// A non-retryable error (unauthorized, bad request, not found, egress refused) moves on
/// at once. An answer is a success whatever its finish reason, ``FinishReason/handoff``
/// included.
///
/// ``CooldownPolicy/failureThreshold`` consecutive failed calls to one provider id start its
/// cooldown; a success resets the count. Bad requests do not count: they say something
/// about the request, not the provider's health. Time comes from the injected clock and
/// waits go through the injected `sleep`, so tests control both.
public final class ModelRouter: Sendable {
    public let retry: RetryPolicy
    public let cooldown: CooldownPolicy
    let now: @Sendable () -> ContinuousClock.Instant
    let sleep: @Sendable (Duration) async throws -> Void
    let jitter: @Sendable (Duration) -> Duration
    let cooldowns: Mutex<ProviderCooldowns>

    /// A uniformly random duration between zero and the given one ("full jitter"), so
    /// clients that failed together do not retry together.
    public static let fullJitter: @Sendable (Duration) -> Duration = { $0 * Double.random(in: 0...1) }

    /// - Parameters:
    ///   - now: the clock for cooldowns and attempt latencies.
    ///   - sleep: how to wait between retries; throwing (cancellation) ends the call.
    ///   - jitter: spreads a backoff delay; tests pass the identity.
    public init(
        retry: RetryPolicy = RetryPolicy(), cooldown: CooldownPolicy = CooldownPolicy(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        jitter: @escaping @Sendable (Duration) -> Duration = ModelRouter.fullJitter
    ) {
        self.retry = retry
        self.cooldown = cooldown
        self.now = now
        self.sleep = sleep
        self.jitter = jitter
        self.cooldowns = Mutex(ProviderCooldowns(policy: cooldown))
    }

    /// Asks the chain for a complete answer; `request.model` is replaced by each target's.
    public func complete(_ request: ModelRequest, chain: [RouteTarget]) async throws(RoutingFailure) -> RoutedResponse {
        try await route(request, chain: chain) { target, request throws(CallFailure) in
            do {
                return try await target.provider.complete(request)
            } catch {
                throw CallFailure(error: Self.providerError(error), isFinal: false)
            }
        }
    }

    /// When the provider id is cooling down until, or `nil` when it may be called.
    public func coolingUntil(_ providerID: String) -> ContinuousClock.Instant? {
        let now = now()
        return cooldowns.withLock { $0.coolingUntil(providerID, now: now) }
    }

    /// A failed call, and whether it ends the whole route (a stream that already sent text).
    struct CallFailure: Error {
        var error: ModelProviderError
        var isFinal: Bool
    }

    /// The retry, fallback and cooldown loop around one kind of call.
    func route(
        _ request: ModelRequest, chain: [RouteTarget],
        call: (RouteTarget, ModelRequest) async throws(CallFailure) -> ModelResponse
    ) async throws(RoutingFailure) -> RoutedResponse {
        var attempts: [ModelAttempt] = []
        for target in chain {
            if coolingUntil(target.providerID) != nil {
                let error = ModelProviderError(.cooldown, "\(target.providerID) is cooling down after repeated failures")
                attempts.append(
                    ModelAttempt(providerID: target.providerID, model: target.model, error: error, usage: nil, latency: .zero))
                continue
            }
            var targetRequest = request
            targetRequest.model = target.model
            for attempt in 0..<max(1, retry.maxAttempts) {
                let started = now()
                let failure: CallFailure
                do {
                    let response = try await call(target, targetRequest)
                    cooldowns.withLock { $0.recordSuccess(target.providerID) }
                    attempts.append(
                        ModelAttempt(
                            providerID: target.providerID, model: target.model, error: nil, usage: response.usage,
                            latency: now() - started))
                    return RoutedResponse(
                        response: response, providerID: target.providerID, model: target.model, attempts: attempts)
                } catch {
                    failure = error
                }
                let finished = now()
                attempts.append(
                    ModelAttempt(
                        providerID: target.providerID, model: target.model, error: failure.error, usage: nil,
                        latency: finished - started))
                let coolingDown =
                    failure.error.kind == .badRequest
                    ? false : cooldowns.withLock { $0.recordFailure(target.providerID, now: finished) }
                if failure.isFinal || Task.isCancelled { throw RoutingFailure(attempts: attempts) }
                guard failure.error.isRetryable, !coolingDown, attempt + 1 < retry.maxAttempts,
                    let delay = delay(after: failure.error, attempt: attempt)
                else { break }
                do {
                    try await sleep(delay)
                } catch {
                    throw RoutingFailure(attempts: attempts)
                }
            }
        }
        throw RoutingFailure(attempts: attempts)
    }

    /// The wait before retry `attempt + 1`, or `nil` when the provider's hint is too long
    /// to wait here.
    func delay(after error: ModelProviderError, attempt: Int) -> Duration? {
        if let hint = error.retryAfter {
            return hint <= retry.maxRetryAfter ? max(hint, .zero) : nil
        }
        let backoff = retry.baseDelay * (1 << min(attempt, 30))
        return min(retry.maxDelay, max(jitter(backoff), .zero))
    }

    /// What a provider threw, as a provider error (providers should throw nothing else).
    static func providerError(_ error: any Error) -> ModelProviderError {
        if let error = error as? ModelProviderError { return error }
        if error is CancellationError { return ModelProviderError(.network, "the call was cancelled") }
        return ModelProviderError(.network, "the provider failed: \(String(describing: type(of: error)))")
    }
}
