import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Synchronization
import Testing

let adminToken = "test-admin-token"

/// The configuration of an app on the shared, already migrated test database.
func testConfiguration(adminToken: String? = adminToken) async throws -> AppConfiguration {
    let owner = try await TestDatabase.shared.sharedDatabase()
    var configuration = AppConfiguration(
        databaseURL: owner.url,
        home: FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-app-tests"),
        port: 0,
        adminToken: adminToken,
        masterKey: TestDatabase.masterKey,
        // Workers take jobs across tenants: only the tests that own their database run them.
        workers: 0,
        databasePoolSize: 4,
        migrateOnStart: false
    )
    // Hundreds of tests share two cores, and the suite's first minute creates and migrates
    // dozens of databases at once while the mail tests start Dovecot and Postfix: a request
    // may wait for a connection far longer than a server would let it. (The database-fault
    // tests set their own short timeout.)
    configuration.databaseAcquireTimeout = .seconds(90)
    return configuration
}

/// Builds the application exactly as production does, and runs `body` against it.
func withApp<Result: Sendable>(
    adminToken: String? = adminToken,
    routes: RouteIndex = RouteIndex(),
    logger: Logger = TestDatabase.logger,
    _ testingSetup: TestingSetup = .router,
    configure: (inout AppConfiguration) -> Void = { _ in },
    now: @escaping @Sendable () -> Date = Date.init,
    _ body: @Sendable (any TestClientProtocol) async throws -> Result
) async throws -> Result {
    var configuration = try await testConfiguration(adminToken: adminToken)
    configure(&configuration)
    let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
    let app = buildApplication(configuration, bootstrap: bootstrap, logger: logger, routes: routes, now: now)
    return try await app.test(testingSetup, body)
}

/// A JSON body.
func json(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

func headers(bearer: String? = nil, json: Bool = true) -> HTTPFields {
    var fields = HTTPFields()
    if let bearer { fields[.authorization] = "Bearer \(bearer)" }
    if json { fields[.contentType] = "application/json" }
    return fields
}

/// The decoded JSON object of a response body.
func object(_ response: TestResponse) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
    return try #require(value as? [String: Any], "body is not a JSON object: \(String(buffer: response.body))")
}

/// Checks a response is an error with the JSON error envelope, the given status and
/// code, and a request id.
func expectError(
    _ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(response.status == status, "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false, sourceLocation: sourceLocation)
    let body = try object(response)
    #expect(Set(body.keys) == ["error"], sourceLocation: sourceLocation)
    let error = try #require(body["error"] as? [String: Any], sourceLocation: sourceLocation)
    #expect(error["code"] as? String == code, "error: \(error)", sourceLocation: sourceLocation)
    #expect((error["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(Set(error.keys).isSubset(of: ["code", "message", "field"]), sourceLocation: sourceLocation)
    if let field { #expect(error["field"] as? String == field, sourceLocation: sourceLocation) }
}

/// Creates a tenant through the operator API; answers its id and first key.
func createTenant(
    _ client: any TestClientProtocol, name: String = "Tenant \(UUID().uuidString.prefix(6))", trialMicros: Int64? = nil
) async throws -> (id: String, key: String) {
    var fields: [String: Any] = ["name": name]
    fields["trial_credits_micros"] = trialMicros
    return try await client.execute(uri: "/admin/tenants", method: .post, headers: headers(bearer: adminToken), body: json(fields)) { response in
        #expect(response.status == .created, "body: \(String(buffer: response.body))")
        let body = try object(response)
        let tenant = try #require(body["tenant"] as? [String: Any])
        return (try #require(tenant["id"] as? String), try #require(body["api_key"] as? String))
    }
}

/// Collects every log line, to prove what never reaches the logs.
///
/// A struct, as swift-log expects: every `Logger` copy gets its own metadata, and only the
/// collected lines are shared, behind a lock. (A class here shared its metadata between
/// loggers on different threads without a lock, and crashed a test run.)
struct RecordingLogHandler: LogHandler {
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(lines: Lines) { self.lines = lines }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
    }
}
