/// The fake's mutable state: the script, what arrived, and who waits for arrivals.
actor FakeModelServerState {
    private var script: [FakeModelBehaviour] = []
    private var fallback: FakeModelBehaviour
    private(set) var recorded: [RecordedRequest] = []
    /// Speech-to-text calls, kept apart: they take nothing from the script.
    private(set) var transcriptions: [RecordedRequest] = []
    private var waiters: [Int: (count: Int, continuation: CheckedContinuation<Void, any Error>)] = [:]
    private var cancelledWaiters: Set<Int> = []
    private var nextWaiter = 0

    init(fallback: FakeModelBehaviour) {
        self.fallback = fallback
    }

    func enqueue(_ behaviours: [FakeModelBehaviour]) {
        script += behaviours
    }

    func setFallback(_ behaviour: FakeModelBehaviour) {
        fallback = behaviour
    }

    /// Records a request, wakes whoever waited for this many, and returns what to do.
    func record(_ request: RecordedRequest) -> FakeModelBehaviour {
        recorded.append(request)
        for (id, waiter) in waiters where waiter.count <= recorded.count {
            waiters[id] = nil
            waiter.continuation.resume()
        }
        return script.isEmpty ? fallback : script.removeFirst()
    }

    func recordTranscription(_ request: RecordedRequest) {
        transcriptions.append(request)
    }

    func makeWaiterID() -> Int {
        nextWaiter += 1
        return nextWaiter
    }

    /// Suspends until `count` requests arrived, or the waiter is cancelled.
    func wait(for count: Int, id: Int) async throws {
        guard recorded.count < count else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if cancelledWaiters.remove(id) != nil {
                continuation.resume(throwing: CancellationError())
            } else {
                waiters[id] = (count, continuation)
            }
        }
    }

    func cancelWaiter(_ id: Int) {
        if let waiter = waiters.removeValue(forKey: id) {
            waiter.continuation.resume(throwing: CancellationError())
        } else {
            cancelledWaiters.insert(id)
        }
    }
}
