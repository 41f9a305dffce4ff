import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real Dovecot and Postfix every mail test runs against, started once per test
/// process by `Deploy/mail-servers.sh` under a temporary directory and stopped when the
/// process exits. When Dovecot or Postfix is missing, `Deploy/install-mail-deps.sh`
/// installs it first.
///
/// There is no skip: without servers, this starts them or the tests fail.
public actor TestMailServers {
    public static let shared = TestMailServers()

    // A task, not a value: the actor is reentrant across awaits, and concurrent first
    // callers must share one start-up rather than each start a pair of servers.
    private var startTask: Task<MailServerEndpoints, any Error>?

    /// The running servers' ports and CA, starting them on first use.
    public func endpoints() async throws -> MailServerEndpoints {
        if startTask == nil { startTask = Task { try await Self.start() } }
        return try await startTask!.value
    }

    /// A fresh user of its own, so parallel tests never share a mailbox.
    public func makeMailbox(prefix: String = "box") async throws -> TestMailbox {
        let endpoints = try await endpoints()
        let cleaned = String(prefix.lowercased().filter { ($0.isLetter || $0.isNumber) && $0.isASCII }.prefix(24))
        let name = "\(cleaned.isEmpty ? "box" : cleaned)-\(UUID().uuidString.prefix(8).lowercased())"
        let password = "pw-\(UUID().uuidString.lowercased())"
        _ = try await Self.run(
            ["/bin/bash", Self.deploy.appendingPathComponent("mail-servers.sh").path, "adduser", endpoints.directory, name, password]
        )
        return TestMailbox(name: name, address: "\(name)@\(MailServerEndpoints.domain)", password: password, endpoints: endpoints)
    }

    /// An OAuth 2 access token for the mailbox, which Dovecot (IMAP, and Postfix's
    /// submission through it) accepts with XOAUTH2 or OAUTHBEARER: a JWT signed with the
    /// servers' own key and checked locally, so no token service runs. A negative lifetime
    /// gives one already expired.
    public func accessToken(for mailbox: TestMailbox, lifetimeSeconds: Int = 3600) async throws -> String {
        let endpoints = try await endpoints()
        let output = try await Self.run([
            "/bin/bash", Self.deploy.appendingPathComponent("mail-servers.sh").path, "token", endpoints.directory, mailbox.name,
            String(lifetimeSeconds),
        ])
        guard let line = output.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("TOKEN=") }) else {
            throw TestMailServersError(message: "mail-servers.sh token printed no TOKEN:\n\(output)")
        }
        return String(line.dropFirst("TOKEN=".count))
    }

    /// Injects a message over the MX port, as another mail server would: no TLS, no auth.
    /// Returns when Postfix has queued it (250); `TestMailbox.waitForMessages` then sees it
    /// once it is delivered.
    public func deliver(rawMessage: [UInt8], to recipient: String, from sender: String) async throws {
        let endpoints = try await endpoints()
        try PlainSMTPDialogue.deliver(rawMessage, from: sender, to: recipient, port: endpoints.smtpPort)
    }

    // MARK: Starting and stopping

    /// The repository's Deploy/ folder, found from this file's place in the tree.
    static let deploy = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MailServerTesting
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("Deploy")

    private static func start() async throws -> MailServerEndpoints {
        let installed = ["/usr/sbin/dovecot", "/usr/sbin/postfix"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        if !installed {
            _ = try await run(["/bin/bash", deploy.appendingPathComponent("install-mail-deps.sh").path])
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-mail-\(getpid())")
        let script = deploy.appendingPathComponent("mail-servers.sh").path
        await sweepOrphans(script: script)
        // The script picks free ports at random; a parallel test process may take one
        // between the pick and the bind. That start fails loudly and a second one is tried.
        var lastError: (any Error)?
        for _ in 1...3 {
            try? FileManager.default.removeItem(at: directory)
            do {
                let output = try await run(["/bin/bash", script, "start", directory.path])
                MailServerProcesses.register(directory: directory)
                return try MailServerEndpoints(scriptOutput: output)
            } catch {
                lastError = error
                _ = try? await run(["/bin/bash", script, "stop", directory.path])
            }
        }
        throw lastError ?? TestMailServersError(message: "the mail servers did not start")
    }

    /// Stops the servers of earlier test processes that were killed before their exit
    /// handler ran (their folder names a process that is gone), so they do not pile up on a
    /// developer's machine.
    private static func sweepOrphans(script: String) async {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix("switchboard-mail-") {
            guard let pid = Int32(name.dropFirst("switchboard-mail-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let folder = temporary.appendingPathComponent(name)
            _ = try? await run(["/bin/bash", script, "stop", folder.path])
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// Runs a command to its end and returns what it printed; a non-zero exit is an
    /// error carrying that output (the script prints the servers' logs on failure).
    static func run(_ arguments: [String]) async throws -> String {
        let result = try await SpawnedCommand(arguments: arguments).run()
        guard result.status == 0 else {
            throw TestMailServersError(message: "\(arguments.joined(separator: " ")) exited \(result.status):\n\(result.output)")
        }
        return result.output
    }
}

/// Why the test servers could not be started or used.
public struct TestMailServersError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Stops the test servers when the test process exits, and removes their files.
enum MailServerProcesses {
    nonisolated(unsafe) static var directory: URL?

    static func register(directory: URL) {
        Self.directory = directory
        atexit {
            guard let directory = MailServerProcesses.directory else { return }
            let script = TestMailServers.deploy.appendingPathComponent("mail-servers.sh").path
            _ = try? SpawnedCommand(arguments: ["/bin/bash", script, "stop", directory.path]).runBlocking()
            try? FileManager.default.removeItem(at: directory)
        }
    }
}
