// swift-tools-version:6.1
import PackageDescription

/// The same strict settings on every target (after Hummingbird's own Package.swift).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The messengers: each is one folder, `Connectors/<Name>` (target `<Name>Connector`), with
/// its tests in `Tests/<Name>ConnectorTests` (fixtures included). Adding one is its name
/// here and its line in the server's `ConnectorRegistry.available`; the connector describes
/// the rest itself (`ConnectorDescription`).
let connectors = ["Telegram", "WhatsApp", "Webhook", "Meta"]

func connectorTargets(_ name: String) -> [Target] {
    [
        .target(
            name: "\(name)Connector",
            dependencies: ["ConnectorKit", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Connectors/\(name)",
            swiftSettings: strict
        ),
        .testTarget(
            name: "\(name)ConnectorTests",
            dependencies: [
                .target(name: "\(name)Connector"), "ConnectorKit", "ConnectorKitTesting",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ]
}

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-bench", targets: ["switchboard-bench"]),
        .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
        .library(name: "ConnectorKit", targets: ["ConnectorKit"]),
        .library(name: "SwitchboardPostgres", targets: ["SwitchboardPostgres"]),
        .library(name: "SwitchboardEgress", targets: ["SwitchboardEgress"]),
        .library(name: "SwitchboardProviders", targets: ["SwitchboardProviders"]),
        .library(name: "SwitchboardPipeline", targets: ["SwitchboardPipeline"]),
        .library(name: "SwitchboardApp", targets: ["SwitchboardApp"]),
    ],
    dependencies: [
        // One trait only: with both default traits SwiftPM orders their flags at random and
        // rebuilds Hummingbird half the time.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // NIOHTTPTypes only (Hummingbird depends on it already): the request-head timeout's handler.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // bcrypt for the team's passwords, TOTP for their second factor.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        .target(
            name: "SwitchboardCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "ConnectorKit",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Connectors/ConnectorKit",
            swiftSettings: strict
        ),
        .target(
            name: "ConnectorKitTesting",
            dependencies: ["ConnectorKit", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Connectors/ConnectorKitTesting",
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardPostgres",
            dependencies: [
                "SwitchboardCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // For ConnectionPoolError only: the pool's "database unreachable" signal.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations"), .copy("Functions")],
            swiftSettings: strict
        ),
        // The one way out: a CONNECT proxy on loopback that every outbound HTTP client goes
        // through, resolving and checking the address it connects to.
        .target(
            name: "SwitchboardEgress",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardProviders",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardEgress",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The message path as plain Swift over the ports of Core: ingest, reply, send, the
        // workers and the maintenance chores. No HTTP server, no database driver: its tests
        // run on in-memory adapters, the app wires it to PostgreSQL and Hummingbird.
        .target(
            name: "SwitchboardPipeline",
            dependencies: [
                "SwitchboardCore",
                "ConnectorKit",
                "SwitchboardProviders",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardApp",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardPipeline",
                "SwitchboardPostgres",
                "ConnectorKit",
                "SwitchboardProviders",
                "SwitchboardEgress",
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTP1Channel's configuration: the idle and request-head timeouts.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                // The platform's own mail (invitations, sign-up verification).
                "MailMIME", "MailTransport", "SMTPClient",
            ] + (connectors + ["Email"]).map { .target(name: "\($0)Connector") },
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "switchboard-bench",
            dependencies: [
                "ConnectorKit",
                "SwitchboardCore",
                "SwitchboardPipeline",
                "SwitchboardProviders",
                "SwitchboardEgress",
                "SwitchboardPostgres",
                "SwitchboardApp",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/AgentBench",
            swiftSettings: strict
        ),
        // libFuzzer harness for every connector's verify + parse. In this build it is a
        // replayer of saved inputs; Deploy/fuzz.sh builds it with -sanitize=fuzzer in
        // .build-fuzz (README, "Fuzzing").
        .executableTarget(
            name: "ConnectorFuzz",
            dependencies: [
                "ConnectorKit",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ] + connectors.map { .target(name: "\($0)Connector") },
            path: "Tests/Fuzz/ConnectorFuzz",
            swiftSettings: strict
        ),
        // RFC 5322/2045 messages as fetched over IMAP, read into what the mail connector
        // needs: headers, the text, attachments, auto-reply signals. Foundation only, so the
        // hostile-input rules are ours to keep and the fuzzer can reach it alone.
        .target(
            name: "MailMIME",
            path: "Connectors/Email/MailMIME",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MailMIMETests",
            dependencies: ["MailMIME"],
            path: "Tests/MailMIMETests",
            swiftSettings: strict
        ),
        // The mail connector's protocol clients, each a module of its own with its tests:
        // one bounded byte stream (through the egress gate's CONNECT, TLS or STARTTLS) and
        // IMAP and SMTP on it. No IMAP or SMTP package is in the mirror.
        .target(
            name: "MailTransport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            path: "Connectors/Email/MailTransport",
            swiftSettings: strict
        ),
        .target(name: "IMAPClient", dependencies: ["MailTransport"], path: "Connectors/Email/IMAPClient", swiftSettings: strict),
        .target(name: "SMTPClient", dependencies: ["MailTransport"], path: "Connectors/Email/SMTPClient", swiftSettings: strict),
        .target(
            name: "EmailConnector",
            dependencies: [
                "ConnectorKit", "MailMIME", "MailTransport", "IMAPClient", "SMTPClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Connectors/Email/EmailConnector",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EmailConnectorTests",
            dependencies: ["EmailConnector", "ConnectorKit", "ConnectorKitTesting", "MailMIME", "MailServerTesting"],
            swiftSettings: strict
        ),
        // Real Dovecot and Postfix on loopback for the mail tests (Deploy/mail-servers.sh).
        .target(
            name: "MailServerTesting",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/MailServerTesting",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MailTransportTests",
            dependencies: [
                "MailTransport", "MailServerTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SMTPClientTests",
            dependencies: [
                "SMTPClient", "MailTransport", "MailServerTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IMAPClientTests",
            dependencies: [
                "IMAPClient", "MailTransport", "MailServerTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardTestSupport",
            dependencies: [
                "SwitchboardPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SwitchboardTestSupport",
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardProvidersTesting",
            dependencies: [
                "SwitchboardProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // The fake runs its Application in a ServiceGroup it can shut down gracefully.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/SwitchboardProvidersTesting",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardProvidersTests",
            dependencies: [
                "SwitchboardProviders",
                "SwitchboardProvidersTesting",
                "SwitchboardCore",
                "SwitchboardEgress",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardEgressTests",
            dependencies: [
                "SwitchboardEgress",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardCoreTests",
            dependencies: ["SwitchboardCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ConnectorKitTests",
            dependencies: ["ConnectorKit", "ConnectorKitTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardPipelineTests",
            dependencies: [
                "SwitchboardPipeline",
                "SwitchboardCore",
                "ConnectorKit",
                "ConnectorKitTesting",
                "SwitchboardProviders",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardPostgresTests",
            dependencies: [
                "SwitchboardPostgres",
                // The ledger's group commit, proven on the real ledger.
                "SwitchboardPipeline",
                "SwitchboardCore",
                "SwitchboardTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchboardAppTests",
            dependencies: [
                "SwitchboardApp",
                "MailMIME",
                "MailServerTesting",
                "SwitchboardPipeline",
                "ConnectorKit",
                "WebhookConnector",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "SwitchboardPostgres",
                "SwitchboardCore",
                "SwitchboardTestSupport",
                "SwitchboardProviders",
                "SwitchboardProvidersTesting",
                "SwitchboardEgress",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ] + connectors.flatMap(connectorTargets)
)
