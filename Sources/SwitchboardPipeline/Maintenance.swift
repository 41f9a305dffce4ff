public import Foundation
public import Logging
public import ServiceLifecycle

/// The periodic chores beside the message path, as a Service of their own: each runs
/// every `interval`, from every replica (each chore is idempotent and cheap when there is
/// nothing to do), and a failed run is logged and tried again at the next interval.
///
/// The app's chores: the credit sweeper (holds of workers that died, granted credits past
/// their expiry), the retention run (what outlived each tenant's policy) and the analytics
/// refresh (the rollups of the hours since the last one).
public final class Maintenance: Service {
    /// One chore: what it is called in the logs, how often it runs, and the run itself,
    /// given the time; it answers what to log of a run that did something, or nil.
    public struct Chore: Sendable {
        public var name: String
        public var interval: Duration
        public var run: @Sendable (_ now: Date, _ logger: Logger) async throws -> String?

        public init(name: String, interval: Duration, run: @escaping @Sendable (_ now: Date, _ logger: Logger) async throws -> String?) {
            self.name = name
            self.interval = interval
            self.run = run
        }
    }

    let chores: [Chore]
    let now: @Sendable () -> Date
    let sleep: @Sendable (Duration) async throws -> Void
    let logger: Logger

    public init(
        chores: [Chore], now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }, logger: Logger
    ) {
        self.chores = chores
        self.now = now
        self.sleep = sleep
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for chore in self.chores {
                    group.addTask { await self.keep(chore) }
                }
            }
        }
    }

    /// Runs `chore` every interval until cancelled.
    func keep(_ chore: Chore) async {
        var logger = self.logger
        logger[metadataKey: "chore"] = "\(chore.name)"
        while !Task.isCancelled {
            do {
                try await sleep(chore.interval)
            } catch {
                return
            }
            await runOnce(chore, logger: logger)
        }
    }

    /// One run of `chore`; failures are logged, never thrown.
    func runOnce(_ chore: Chore, logger: Logger) async {
        do {
            if let done = try await chore.run(now(), logger) { logger.info("\(done)") }
        } catch is CancellationError {
            return
        } catch {
            logger.warning("the \(chore.name) run failed", metadata: ["error": "\(error)"])
        }
    }
}
