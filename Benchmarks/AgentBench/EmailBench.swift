// switchboard-bench email --address A --password P --imaps-port N --submission-port N --smtp-port N --ca FILE
//     [--count 10000] [--rate 50] [--duration 20] [--script Benchmarks/email-bench.py]
//     Fetch and ingest of a mailbox (issue 17), run by Benchmarks/bench-email.sh against
//     the Dovecot and Postfix of Deploy/mail-servers.sh, on a fresh durable PostgreSQL (the
//     embedded cluster under $SWITCHBOARD_HOME, as the ledger bench):
//     1. the connector alone: `pull` from the first UID to the last, no database — what
//        the Swift IMAP client and MIME parsing cost, beside the imaplib ceiling;
//     2. the service: `PulledChannels` on an email channel with `import_existing`, timed
//        until all `count` mails waiting in the mailbox are stored;
//     3. the same service in IDLE while `email-bench.py deliver` sends `rate` mails a second
//        for `duration` seconds by SMTP: each mail's time from the SMTP server's 250 to
//        its row (messages.created_at; both clocks are this machine's).
import ConnectorKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO
import SwitchboardApp
import SwitchboardCore
import SwitchboardEgress
import SwitchboardPipeline
import SwitchboardPostgres

struct EmailBench {
    /// EMAIL_BENCH_TIMELINE=1 prints the stored count each time it changes, to see where the time goes.
    let verbose = ProcessInfo.processInfo.environment["EMAIL_BENCH_TIMELINE"] != nil
    var address: String
    var password: String
    var imapsPort: Int
    var submissionPort: Int
    var smtpPort: Int
    var caFile: String
    var count: Int
    var rate: Int
    var duration: Int
    var script: String

    func run() async throws {
        let logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            return logger
        }()
        var configuration = try AppConfiguration.fromEnvironment()
        // As production runs a mailbox on a private network: through the egress gate, which
        // is told private addresses are fine, trusting the test servers' CA.
        configuration.mailTrustFile = caFile
        configuration.egressAllowPrivate = true
        let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
        let settings = configuration
        let owner = PostgresClient(
            configuration: bootstrap.ownerConfiguration.clientConfiguration(maximumConnections: 2), backgroundLogger: logger
        )
        try await bootstrap.run { bootstrap in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await owner.run() }
                defer { group.cancelAll() }
                let gate = EgressGate(settings.egressGateConfiguration, logger: logger)
                let http = AsyncHTTPOutboundClient(gate: gate)
                do {
                    try await measure(bootstrap, configuration: settings, gate: gate, http: http, owner: owner, logger: logger)
                } catch {
                    try? await http.shutdown()
                    await gate.shutdown()
                    throw error
                }
                try await http.shutdown()
                await gate.shutdown()
            }
        }
    }

    func measure(
        _ bootstrap: Bootstrap, configuration: AppConfiguration, gate: EgressGate, http: AsyncHTTPOutboundClient, owner: PostgresClient,
        logger: Logger
    ) async throws {
        let database = bootstrap.database
        let connectors = ConnectorRegistry.standard(configuration, now: Date.init, egress: gate)
        guard let email = connectors["email"] as? any PullingConnector else { throw BenchFailure("this build has no email connector") }
        let secrets = SecretBox(masterKey: bootstrap.masterKey)
        let channels = PostgresChannelStore(database: database)

        // The tenant and its mailbox channel, through the stores (no agent: nothing is answered).
        let key = NewAPIKey(name: "bench", prefix: "sb_live_bench", hash: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let tenant = try await PostgresTenantStore(database: database).createTenant(
            name: "email bench", trialCredits: Credits(micros: 1_000_000_000), firstKey: key
        ).0
        let prepared = try email.prepareCredentials([
            "address": address, "password": password, "imap_host": "localhost", "imap_port": "\(imapsPort)",
            "smtp_host": "localhost", "smtp_port": "\(submissionPort)", "smtp_security": "starttls", "import_existing": "true",
        ])
        let credentials = ChannelCredentials(prepared.stored)
        try await email.register(webhookURL: "", credentials: credentials, http: http)  // both logins, as the API checks them
        let channelID = ChannelID()
        _ = try await channels.create(
            tenant.id, id: channelID, kind: "email", name: "Mailbox", agentID: nil,
            sealedCredentials: try secrets.sealCredentials(prepared.stored, tenant: tenant.id, channel: channelID),
            credentialFields: prepared.stored.keys.sorted()
        )
        let clock = ContinuousClock()

        // 1. The connector alone, every waiting mail, no database.
        var cursor: String?
        var pulled = 0
        let pullStart = clock.now
        while true {
            let batch = try await email.pull(after: cursor, credentials: credentials, http: http, wait: .zero)
            if batch.events.isEmpty { break }
            pulled += batch.events.count
            cursor = batch.cursor
        }
        let pullSeconds = seconds(clock.now - pullStart)
        guard pulled == count else { throw BenchFailure("the connector fetched \(pulled) mails, not \(count)") }

        // 2. The service, from the channel's first pull to the last mail stored.
        let store = PostgresIngestStore(database: database)
        let ingest = Ingest(
            channels: channels, store: store, batcher: IngestBatcher(store: store), cache: ChannelRouteCache(),
            connectors: connectors, secrets: secrets
        )
        let service = PulledChannels(
            directory: channels, ingest: ingest, connectors: connectors, secrets: secrets, http: http, owner: "email-bench", logger: logger
        )
        let cpuStart = cpuSeconds()
        let postgresStart = postgresCPUSeconds(home: configuration.home.path)
        let ingestStart = clock.now
        try await service.refresh()
        defer { service.stopAll() }
        let tenth = try await waitForMessages(count, owner: owner, logger: logger, mark: count / 10)
        let ingestEnd = clock.now
        let ingestSeconds = seconds(ingestEnd - ingestStart)
        let cpu = cpuSeconds() - cpuStart
        let postgresCPU = postgresStart.map { postgresCPUSeconds(home: configuration.home.path)! - $0 }

        print("| what (\(count) mails waiting) | seconds | mails/s |")
        print("|---|---:|---:|")
        print("| connector alone: IMAP fetch + MIME parse, its own batches, no database | \(format(pullSeconds)) | \(Int(Double(count) / pullSeconds)) |")
        print("| PulledChannels: fetch, parse, ingest with the cursor | \(format(ingestSeconds)) | \(Int(Double(count) / ingestSeconds)) |")
        // A fresh cluster's first plans are made on empty tables (no statistics yet): the
        // first hundreds of mails are slow until autovacuum's ANALYZE. Shown apart.
        let steady = seconds(ingestEnd - tenth)
        print("| the same, past the first tenth (tables no longer empty) | \(format(steady)) | \(Int(Double(count - count / 10) / steady)) |")
        print("| the first tenth | \(format(ingestSeconds - steady)) | \(Int(Double(count / 10) / (ingestSeconds - steady))) |")
        print(
            "\nCPU during the service's ingest (\(format(ingestSeconds)) s of wall time, 2 cores): this process \(format(cpu)) s, "
                + "PostgreSQL \(postgresCPU.map(format) ?? "?") s, the rest Dovecot and idle"
        )
        print("RESULT_INGEST_RATE=\(format(Double(count) / ingestSeconds))")
        print("RESULT_PULL_RATE=\(format(Double(count) / pullSeconds))")

        // 3. Mail arriving at `rate` a second while the service is in IDLE.
        let accepted = FileManager.default.temporaryDirectory.appendingPathComponent("email-bench-\(UUID().uuidString).tsv")
        defer { try? FileManager.default.removeItem(at: accepted) }
        try await runProcess("/usr/bin/env", [
            "python3", script, "deliver", "--port", "\(smtpPort)", "--to", address, "--rate", "\(rate)", "--duration", "\(duration)",
            "--out", accepted.path,
        ])
        var acceptedAt: [String: Double] = [:]
        for line in try String(contentsOf: accepted, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let at = Double(fields[1]) { acceptedAt[String(fields[0])] = at }
        }
        try await waitForMessages(count + acceptedAt.count, owner: owner, logger: logger)
        var latencies: [Double] = []
        let rows = try await owner.query(
            "SELECT external_id, extract(epoch FROM created_at)::float8 FROM messages WHERE external_id LIKE 'live-%'", logger: logger
        )
        for try await (id, stored) in rows.decode((String, Double).self) {
            if let at = acceptedAt[id] { latencies.append(stored - at) }
        }
        latencies.sort()
        guard !latencies.isEmpty else { throw BenchFailure("no delivered mail was stored") }
        func ms(_ quantile: Double) -> String {
            format(1000 * latencies[min(latencies.count - 1, Int(Double(latencies.count) * quantile))])
        }
        print("\n| SMTP 250 → stored, \(rate) mails/s for \(duration) s, IDLE | mails | p50 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        print("| PulledChannels | \(latencies.count) of \(acceptedAt.count) | \(ms(0.5)) | \(ms(0.99)) | \(format(1000 * latencies.last!)) |")
        print("RESULT_LATENCY_MS=\(ms(0.5)) \(ms(0.99)) \(format(1000 * latencies.last!)) \(latencies.count)")
    }

    /// Bounded polling of the stored messages: until `expected` are there, or fails once
    /// nothing new was stored for 30 s, with the channel's fetch state.
    /// Answers when `mark` messages were first seen stored.
    @discardableResult
    func waitForMessages(_ expected: Int, owner: PostgresClient, logger: Logger, mark: Int = 0) async throws -> ContinuousClock.Instant {
        var marked: ContinuousClock.Instant?
        var last = -1
        var lastChange = ContinuousClock.now
        while true {
            var stored = 0
            for try await value in try await owner.query("SELECT count(*)::int8 FROM messages", logger: logger).decode(Int64.self) {
                stored = Int(value)
            }
            if stored >= mark, marked == nil { marked = .now }
            if stored >= expected { return marked ?? .now }
            if stored != last {
                if verbose { print("stored \(stored) at \(ContinuousClock.now)") }
                last = stored
                lastChange = .now
            } else if ContinuousClock.now - lastChange > .seconds(30) {
                var state = ""
                for try await row in try await owner.query(
                    "SELECT coalesce(pull_state, '-') || ' ' || coalesce(pull_error, '-') || ' ' || coalesce(pull_cursor, '-') FROM channels",
                    logger: logger
                ).decode(String.self) { state += row }
                throw BenchFailure("stuck at \(stored) of \(expected) messages stored; channel: \(state)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func runProcess(_ executable: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.standardError  // not interleaved with the tables
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        guard status == 0 else { throw BenchFailure("\(arguments.joined(separator: " ")) exited with \(status)") }
    }

    /// CPU time (user and system) of this process so far, all threads.
    func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// CPU time of the embedded PostgreSQL (its postmaster, found by the data directory under
    /// `home` in its command line, and the postmaster's children) from /proc; nil when it
    /// is not found (an external DATABASE_URL). Backends that exited meanwhile are not
    /// counted: the pool's connections live through the measurement.
    func postgresCPUSeconds(home: String) -> Double? {
        struct Stat { var parent: Int; var ticks: Int }
        var stats: [Int: Stat] = [:]
        var postmaster: Int?
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm) ": state (3rd field), ppid (4th), … utime and stime (14th, 15th).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let parent = Int(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            stats[pid] = Stat(parent: parent, ticks: user + system)
            if stat.contains("(postgres)"), let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
               command.contains(home), command.contains("-D") {
                postmaster = pid
            }
        }
        guard let postmaster else { return nil }
        let ticks = stats.filter { $0.key == postmaster || $0.value.parent == postmaster }.values.reduce(0) { $0 + $1.ticks }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
