public import Foundation
public import Logging
public import ServiceLifecycle
import Crypto
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster under `$SWITCHBOARD_HOME/pg`, run with the system's
/// PostgreSQL binaries, on 127.0.0.1 and a free port.
///
/// `start()` creates the cluster on first use (initdb into a temporary folder, then a
/// rename, so a crash never leaves half a cluster), reuses it after, and adopts a server
/// that is already running on it. The server binaries refuse to run as root, so when
/// Switchboard is root they run as the `postgres` system user.
///
/// That user must be able to reach the cluster. When it cannot enter the home (a project
/// under `/root`, a `mktemp -d` folder: 0700 and root's), the cluster is kept in a folder of
/// its own under the `postgres` user's home directory, named after the home, and `home/pg`
/// is a symbolic link to it; the password file and everything else stay in the home.
public struct EmbeddedPostgres: Sendable {
    /// The login that owns the database and runs migrations.
    public static let ownerRole = "switchboard"
    /// The database Switchboard uses inside the cluster.
    public static let databaseName = "switchboard"

    public var home: URL
    /// `false` turns off fsync and synchronous commit: for test clusters only, where speed
    /// matters and a crash loses nothing of value.
    public var durable: Bool
    public var logger: Logger
    /// The port to listen on; `nil` picks a free one at each start.
    public var port: Int?

    public init(home: URL, durable: Bool = true, port: Int? = nil, logger: Logger) {
        self.home = home
        self.durable = durable
        self.port = port
        self.logger = logger
    }

    /// The cluster's folder: `home/pg`, or where that link points when the cluster is kept
    /// outside the home (see ``EmbeddedPostgres``). The server is always given this real path,
    /// so it never has to pass through a home it cannot enter.
    public var dataDirectory: URL {
        let link = home.appendingPathComponent("pg", isDirectory: true)
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link.path) {
            return URL(fileURLWithPath: target, isDirectory: true)
        }
        return link
    }
    var passwordFile: URL { home.appendingPathComponent("pg.password") }
    var serverLog: URL { dataDirectory.appendingPathComponent("server.log") }

    /// Starts the cluster (creating it if needed) and answers how to reach it.
    public func start() async throws -> RunningEmbeddedPostgres {
        let binaries = try Self.locateBinaries()
        let runAs = try Self.serverUser()
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // The postgres user must be able to pass through the home folder to its cluster.
        if runAs != nil { chmod(home.path, 0o755) }
        let password = try loadOrCreatePassword()

        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            let place = try await clusterPlace(runAs: runAs)
            try await initialize(in: place, binaries: binaries, runAs: runAs, password: password)
        }

        let pgCtl = binaries.appendingPathComponent("pg_ctl").path
        let status = try await SystemCommand(executable: pgCtl, arguments: ["status", "-D", dataDirectory.path], runAsUser: runAs).run()
        let port: Int
        let startedHere: Bool
        if status.status == 0, let running = runningPort() {
            logger.info("embedded PostgreSQL already running; reusing it", metadata: ["db.port": "\(running)"])
            port = running
            startedHere = false
        } else {
            port = try await launch(pgCtl: pgCtl, runAs: runAs)
            startedHere = true
        }

        let owner = DatabaseConfiguration(
            host: "127.0.0.1", port: port, username: Self.ownerRole, password: password, database: Self.databaseName, tls: .disable
        )
        try await ensureDatabase(owner)
        return RunningEmbeddedPostgres(launcher: self, ownerConfiguration: owner, startedHere: startedHere)
    }

    /// Stops the cluster's server (fast shutdown: sessions end, committed work is kept).
    public func stop() async throws {
        let result = try await stopCommand().run()
        guard result.status == 0 else {
            throw DatabaseError(.launchFailed, "pg_ctl stop failed: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        logger.info("embedded PostgreSQL stopped")
    }

    /// Stops the server on the calling thread: for exit handlers, where nothing async runs.
    public func stopBlocking() {
        _ = try? stopCommand().runBlocking()
    }

    /// Whether a server is running on this cluster.
    public func isRunning() async throws -> Bool {
        let binaries = try Self.locateBinaries()
        let result = try await SystemCommand(
            executable: binaries.appendingPathComponent("pg_ctl").path, arguments: ["status", "-D", dataDirectory.path],
            runAsUser: try Self.serverUser()
        ).run()
        return result.status == 0
    }

    private func stopCommand() throws -> SystemCommand {
        SystemCommand(
            executable: try Self.locateBinaries().appendingPathComponent("pg_ctl").path,
            arguments: ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60"],
            runAsUser: try Self.serverUser()
        )
    }

    // MARK: Finding the binaries

    /// The folder of PostgreSQL's server binaries: `pg_config --bindir`, else the newest
    /// `/usr/lib/postgresql/*/bin`, else the PATH.
    public static func locateBinaries() throws -> URL {
        var candidates: [URL] = []
        if let bindir = Self.pgConfigBindir() { candidates.append(URL(fileURLWithPath: bindir)) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append(URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin"))
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(URL(fileURLWithPath: String(directory)))
        }
        for candidate in candidates
        where ["initdb", "pg_ctl", "postgres"].allSatisfy({
            FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent($0).path)
        }) {
            return candidate
        }
        throw DatabaseError(
            .binariesMissing,
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them with "
                + "`apt-get install postgresql` (Debian/Ubuntu), or set DATABASE_URL to use a server you run."
        )
    }

    /// `pg_config --bindir`, asked once per process. It runs through `SystemCommand`
    /// (posix_spawn and waitpid), not Foundation's `Process`: with several launches at once
    /// `Process` could miss its child's exit and wait forever (seen as a hung test run).
    private static let pgConfigBindirOnce: String? = {
        for path in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where FileManager.default.isExecutableFile(atPath: path) {
            guard let result = try? SystemCommand(executable: path, arguments: ["--bindir"], runAsUser: nil).runBlocking(),
                  result.status == 0
            else { continue }
            let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { return text }
        }
        return nil
    }()

    private static func pgConfigBindir() -> String? { pgConfigBindirOnce }

    /// `postgres` when we are root (the server refuses root), otherwise nobody: we run it.
    static func serverUser() throws -> String? {
        guard getuid() == 0 else { return nil }
        guard getpwnam("postgres") != nil else {
            throw DatabaseError(
                .binariesMissing,
                "running as root, the embedded PostgreSQL must run as the `postgres` user, which does not exist. "
                    + "Install the `postgresql` package (it creates the user), or run as another user."
            )
        }
        return "postgres"
    }

    // MARK: Creating the cluster

    /// Where a new cluster is made: the home when the server user can enter it (or when we
    /// are not root, and so are that user), else a folder that user owns under its own home
    /// directory, named after the home (its last component and a hash of its whole path, so
    /// two projects never share one).
    func clusterPlace(runAs: String?) async throws -> URL {
        guard let runAs else { return home }
        let entered = try await SystemCommand(executable: "/usr/bin/test", arguments: ["-x", home.path], runAsUser: runAs).run()
        if entered.status == 0 { return home }
        guard let entry = getpwnam(runAs), let directory = entry.pointee.pw_dir.map({ String(cString: $0) }),
              FileManager.default.fileExists(atPath: directory)
        else {
            throw DatabaseError(
                .launchFailed,
                "the \(runAs) user cannot enter \(home.path) and has no home directory to keep the cluster in: "
                    + "set SWITCHBOARD_HOME to a folder it can reach (for example /var/lib/switchboard), or set DATABASE_URL"
            )
        }
        let digest = SHA256.hash(data: Data(home.standardizedFileURL.path.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        let clusters = URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent("switchboard-clusters", isDirectory: true)
        let place = clusters.appendingPathComponent("\(home.lastPathComponent)-\(digest)", isDirectory: true)
        try FileManager.default.createDirectory(at: place, withIntermediateDirectories: true)
        chmod(clusters.path, 0o755)
        chmod(place.path, 0o700)
        try Self.chown(paths: [clusters.path, place.path], to: runAs)
        logger.notice(
            "the embedded PostgreSQL runs as \(runAs), which cannot enter the home; its cluster is kept outside it",
            metadata: ["db.home": "\(home.path)", "db.data": "\(place.path)/pg"]
        )
        return place
    }

    private func initialize(in place: URL, binaries: URL, runAs: String?, password: String) async throws {
        let staging = place.appendingPathComponent("pg.initdb-\(UUID().uuidString.prefix(8))", isDirectory: true)
        let pwfile = place.appendingPathComponent("pg.initdb-password-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        try Data(password.utf8).write(to: pwfile)
        defer {
            try? FileManager.default.removeItem(at: pwfile)
            try? FileManager.default.removeItem(at: staging)
        }
        chmod(staging.path, 0o700)
        chmod(pwfile.path, 0o600)
        if let runAs { try Self.chown(paths: [staging.path, pwfile.path], to: runAs) }

        var arguments = [
            "-D", staging.path, "-U", Self.ownerRole, "--pwfile=\(pwfile.path)", "--auth=scram-sha-256",
            "-E", "UTF8", "--no-locale", "--no-instructions",
        ]
        if !durable { arguments.append("--no-sync") }
        let target = place.appendingPathComponent("pg", isDirectory: true)
        logger.info("creating the embedded PostgreSQL cluster", metadata: ["db.data": "\(target.path)"])
        let result = try await SystemCommand(
            executable: binaries.appendingPathComponent("initdb").path, arguments: arguments, runAsUser: runAs
        ).run()
        guard result.status == 0 else {
            throw DatabaseError(
                .launchFailed,
                "initdb failed (exit \(result.status)). The \(runAs ?? "current") user must be able to write to "
                    + "\(place.path). Output:\n\(result.output)"
            )
        }
        try FileManager.default.moveItem(at: staging, to: target)
        if place != home {
            let link = home.appendingPathComponent("pg")
            try? FileManager.default.removeItem(at: link)
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target.path)
        }
    }

    private func loadOrCreatePassword() throws -> String {
        if let data = FileManager.default.contents(atPath: passwordFile.path),
           let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return text
        }
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max) }
        let password = bytes.map { String(format: "%02x", $0) }.joined()
        _ = FileManager.default.createFile(atPath: passwordFile.path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        return password
    }

    // MARK: Running the server

    /// How often autovacuum looks at the database, in seconds (PostgreSQL's default is 60).
    ///
    /// The server's sessions keep their statements' plans (PL/pgSQL, prepared statements).
    /// Plans made while a table was new and empty can find one row through an index that
    /// reads all of a tenant's rows, and they stay until the table is analyzed. With the
    /// default, a new cluster under load ran that way for its first minute: on the agents
    /// benchmark at 150 messages/s, p50 2.6–3.6 s until an ANALYZE brought it to 15 ms.
    /// Looking every 5 s analyzes a table within seconds of its first 50 changes, and again as
    /// it grows by a tenth; the analyze replaces the stale plans.
    public static let autovacuumNaptimeSeconds = 5

    private func launch(pgCtl: String, runAs: String?) async throws -> Int {
        var lastOutput = ""
        // A port picked free can be taken before the server binds it: try a few.
        for _ in 0..<3 {
            let port = try self.port ?? Self.freePort()
            // A test cluster (not durable) serves every suite of a test process at once, each
            // with pools of its own: it gets more connections than a server's one pool needs.
            var options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=\(durable ? 300 : 1000)"
            options += " -c autovacuum_naptime=\(Self.autovacuumNaptimeSeconds)"
            if !durable { options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" }
            let result = try await SystemCommand(
                executable: pgCtl,
                arguments: ["start", "-D", dataDirectory.path, "-w", "-t", "60", "-l", serverLog.path, "-o", options],
                runAsUser: runAs
            ).run()
            if result.status == 0 {
                logger.info("embedded PostgreSQL started", metadata: ["db.port": "\(port)"])
                return port
            }
            lastOutput = result.output + "\n" + ((try? String(contentsOf: serverLog, encoding: .utf8))?.suffix(2000) ?? "")
        }
        throw DatabaseError(.launchFailed, "the embedded PostgreSQL did not start:\n\(lastOutput)")
    }

    /// The port recorded in `postmaster.pid` (its fourth line) of a running server.
    private func runningPort() -> Int? {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8) else {
            return nil
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) : nil
    }

    private func ensureDatabase(_ owner: DatabaseConfiguration) async throws {
        try await PostgresAdministration.withConnection(owner.with(database: "postgres"), logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT 1 FROM pg_database WHERE datname = \(Self.databaseName)", logger: logger
            )
            var exists = false
            for try await _ in rows { exists = true }
            if !exists {
                try await connection.query(PostgresAdministration.createDatabase(Self.databaseName), logger: logger)
            }
        }
    }

    static func chown(paths: [String], to user: String) throws {
        guard let entry = getpwnam(user) else { throw DatabaseError(.launchFailed, "no user \(user)") }
        for path in paths where Glibc.chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) != 0 {
            throw DatabaseError(.launchFailed, "cannot hand \(path) to the \(user) user (errno \(errno))")
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DatabaseError(.launchFailed, "cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw DatabaseError(.launchFailed, "cannot bind a socket to find a free port") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw DatabaseError(.launchFailed, "cannot read the free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// An embedded cluster that is up: how to reach it as its owner, and a Service that stops
/// it on graceful shutdown when this process started it.
public struct RunningEmbeddedPostgres: Service {
    public let launcher: EmbeddedPostgres
    public let ownerConfiguration: DatabaseConfiguration
    /// `false` when the server was already running and was adopted: it is left running.
    public let startedHere: Bool

    public func run() async throws {
        // Wait until the application shuts down (or is cancelled), then stop the server.
        try? await gracefulShutdown()
        if startedHere {
            try await launcher.stop()
        }
    }
}
