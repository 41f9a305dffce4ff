import Foundation
@testable import SwitchboardPipeline
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    /// A write the test holds open until it lets go: items arriving meanwhile must wait.
    final class Gate: Sendable {
        private let state = Mutex<(batches: [[Int]], held: CheckedContinuation<Void, Never>?, entered: CheckedContinuation<Void, Never>?)>(([], nil, nil))
        var batches: [[Int]] { state.withLock { $0.batches } }

        func write(_ batch: [Int]) async throws -> [String] {
            let first = state.withLock { state in
                state.batches.append(batch)
                return state.batches.count == 1
            }
            if first {
                await withCheckedContinuation { continuation in
                    let entered = state.withLock { state in
                        state.held = continuation
                        return state.entered
                    }
                    entered?.resume()
                }
            }
            if batch.contains(-1) { throw CancellationError() }
            return batch.map { "done \($0)" }
        }

        func waitUntilHeld() async {
            await withCheckedContinuation { continuation in
                let held = state.withLock { state -> Bool in
                    if state.held != nil { return true }
                    state.entered = continuation
                    return false
                }
                if held { continuation.resume() }
            }
        }

        func letGo() { state.withLock { $0.held }?.resume() }
    }

    @Test("items that arrive while a write runs are written together in the next one, each answered with its own output")
    func batches() async throws {
        let gate = Gate()
        let commit = GroupCommit<Int, Int, String>(maximumBatch: 100, maximumInFlight: 1) { _, batch in try await gate.write(batch) }
        async let first = commit.submit(0, key: 0)
        await gate.waitUntilHeld()
        let outputs = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for item in 1...10 { group.addTask { (item, try await commit.submit(item, key: 0)) } }
            // Every item is queued behind the held write before it is let go.
            while await commit.waiting(0) < 10 { await Task.yield() }
            gate.letGo()
            var outputs: [Int: String] = [:]
            for try await (item, output) in group { outputs[item] = output }
            return outputs
        }
        #expect(try await first == "done 0")
        #expect(outputs.count == 10)
        #expect(outputs.allSatisfy { $0.value == "done \($0.key)" })
        #expect(gate.batches.count == 2, "one write for the first item, one for the ten that waited")
        #expect(Set(gate.batches[1]) == Set(1...10))
    }

    @Test("a batch that fails is written again one by one: the bad item fails alone")
    func fallback() async throws {
        let gate = Gate()
        let commit = GroupCommit<Int, Int, String>(maximumBatch: 100, maximumInFlight: 1) { _, batch in try await gate.write(batch) }
        async let first = commit.submit(0, key: 0)
        await gate.waitUntilHeld()
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for item in [1, -1, 2] { group.addTask { (item, (try? await commit.submit(item, key: 0)) != nil) } }
            while await commit.waiting(0) < 3 { await Task.yield() }
            gate.letGo()
            var outcomes: [Int: Bool] = [:]
            for await (item, stored) in group { outcomes[item] = stored }
            return outcomes
        }
        _ = try await first
        #expect(outcomes == [1: true, -1: false, 2: true])
        #expect(gate.batches.count == 5, "the first, the shared one that failed, then each of its three alone")
    }
}
