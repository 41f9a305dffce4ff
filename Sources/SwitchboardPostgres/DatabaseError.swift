/// Why the database could not be set up or reached: the launcher, the migrator and the
/// connection checks throw this. The message is for the operator and names what to do.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// DATABASE_URL or another setting is malformed.
        public static let configuration = Code("configuration")
        /// The PostgreSQL server binaries are not installed.
        public static let binariesMissing = Code("binaries_missing")
        /// initdb, pg_ctl or the server failed.
        public static let launchFailed = Code("launch_failed")
        /// The server cannot be reached or refused the login.
        public static let unreachable = Code("unreachable")
        /// An applied migration no longer matches its file.
        public static let migrationChanged = Code("migration_changed")
        /// A migration failed to apply, or the database is newer than this build.
        public static let migrationFailed = Code("migration_failed")
        /// A stored value this build does not know (a kind added by a newer build, say):
        /// refused by name, never read as a default.
        public static let unknownValue = Code("unknown_value")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

extension DatabaseError {
    /// A stored `column` value this build has no case for.
    static func unknown(_ column: String, _ value: String) -> DatabaseError {
        DatabaseError(.unknownValue, "the database holds \(column) '\(value)', which this build does not know: was it written by a newer Switchboard?")
    }
}
