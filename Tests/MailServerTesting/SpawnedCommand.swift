import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and keeps what it printed (standard output and error
/// together), as the main repository's `SystemCommand` does and for the same reason.
///
/// This spawns with `posix_spawn` and reaps with `waitpid` rather than Foundation's
/// `Process`: `mail-servers.sh start` leaves Dovecot and Postfix behind, and `Process` then
/// never sees its child end (seen: the test process waiting for ever on a zombie script).
/// Output goes to a file, not a pipe, and no descriptor of ours beyond 0-2 is inherited,
/// so the servers hold nothing of the test process open.
struct SpawnedCommand: Sendable {
    var arguments: [String]

    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    func run() async throws -> Result {
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
        guard let executable = arguments.first else { throw TestMailServersError(message: "no command to run") }
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("switchboard-mail-cmd-\(UUID().uuidString).log").path
        defer { unlink(outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = Self.closeFrom?(&actions, 3)

        // The spawning thread's signal mask is the runtime's (Dispatch blocks most signals
        // in its threads) and a child inherits it: Dovecot started with SIGTERM blocked never
        // stops (seen). The servers get an empty mask and default dispositions.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, cArguments, environ)
        guard spawned == 0 else {
            throw TestMailServersError(message: "cannot run \(executable) (error \(spawned))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw TestMailServersError(message: "lost track of \(executable)") }
        }
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(status: exitCode, output: output)
    }
}
