import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and keeps what it printed, optionally as another user.
///
/// PostgreSQL's server binaries refuse to run as root, so when Switchboard is root they are
/// run as the `postgres` system user through `runuser`.
///
/// This spawns with `posix_spawn` and reaps with `waitpid` rather than Foundation's
/// `Process`: `pg_ctl start` leaves a server behind that inherits descriptors, and
/// `Process` then never sees its child end. (The browser test runs Chromium through it for
/// the same reason: its helpers outlive the driver by a moment.)
public struct SystemCommand: Sendable {
    public var executable: String
    public var arguments: [String]
    public var runAsUser: String?

    public init(executable: String, arguments: [String], runAsUser: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.runAsUser = runAsUser
    }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
    }

    public func run() async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let command = self
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try command.runBlocking())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Debian 12 has
    /// 2.36), found at run time: the Glibc module does not export it.
    static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
        )
    }()

    /// Runs on the calling thread; for exit handlers, where nothing async can run.
    func runBlocking() throws -> Result {
        // As another user, start from a directory every user can read (`env -C /`): the
        // postgres user cannot enter root's home.
        var argv = runAsUser.map { ["/sbin/runuser", "-u", $0, "--", "/usr/bin/env", "-C", "/", executable] } ?? [executable]
        argv += arguments
        // Output goes to a file, not a pipe, so a server left running cannot hold it open.
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("switchboard-cmd-\(UUID().uuidString).log").path
        defer { unlink(outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours: `pg_ctl start` leaves a server running for as long as we do,
        // and every descriptor it inherited (a client's socket, another child's pipe) would
        // stay open in it — a pipe whose reader waits for its end would wait for ever (seen:
        // a test waiting on a process's output while the cluster held a copy of its pipe).
        Self.closeFrom?(&actions, 3)

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw DatabaseError(.launchFailed, "cannot run \(argv[0]) (error \(spawned))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw DatabaseError(.launchFailed, "lost track of \(argv[0])") }
        }
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(status: exitCode, output: output)
    }
}
