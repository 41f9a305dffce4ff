import NIOCore
import NIOPosix

/// Where Swift Concurrency runs a server's tasks.
public enum EventLoopExecutor {
    /// Makes NIO's event loops — the threads on which the HTTP server, the database pool
    /// and the HTTP clients already do their I/O — Swift Concurrency's global executor.
    ///
    /// Without it, every `await` on I/O hops from an event loop to the runtime's own
    /// threads and back: two thread wake-ups per hop, several hops per message. With it,
    /// the task resumes on the loop whose channel answered. Measured on the agents
    /// benchmark in alternating runs: at 100 messages/s the server's CPU per answered
    /// message was 3.6–5.0 ms against 4.7–5.4 ms on the runtime's threads; at 150/s, where
    /// the threads seldom sleep, the two were within run-to-run noise (Benchmarks/README.md).
    ///
    /// The price: work that blocks a thread now blocks an event loop too. Nothing in the
    /// server blocks: external programs run on threads of their own (`SystemCommand`), name
    /// resolution on NIO's thread pool.
    ///
    /// Call once, from the process's entry point, before the server starts; answers whether
    /// it took over (false where the runtime offers no hook).
    public static func takeOver() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
