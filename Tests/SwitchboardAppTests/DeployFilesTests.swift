import Foundation
import Testing

/// The image recipe, read against the manifest: no container engine runs here, so a
/// Dockerfile that misses a folder the manifest names (and so cannot even load the package)
/// would otherwise be found by the first operator who builds it.
@Suite("Deploy files")
struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The top folders the manifest's targets live in: each `path:` argument's first
    /// component, and SwiftPM's defaults (`Sources/<name>`, `Tests/<name>` for test targets).
    static func manifestFolders() throws -> Set<String> {
        let manifest = try text("Package.swift")
        var folders: Set<String> = []
        let pattern = /path:\s*"([^"\/]+)/
        for match in manifest.matches(of: pattern) { folders.insert(String(match.output.1)) }
        if manifest.contains(".target(") || manifest.contains(".executableTarget(") { folders.insert("Sources") }
        if manifest.contains(".testTarget(") { folders.insert("Tests") }
        return folders
    }

    /// The sources of the Dockerfile's `COPY` lines from the build context (not `--from`).
    static func copiedFromContext() throws -> [String] {
        try text("Deploy/Dockerfile").split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.first == "COPY", !words.contains(where: { $0.hasPrefix("--from") }), words.count >= 3 else { return nil }
            return words[1]
        }.map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 }
    }

    @Test("the Dockerfile copies every folder the manifest names a target in, and every folder it copies exists")
    func copiesWhatTheManifestNames() throws {
        let folders = try Self.manifestFolders()
        #expect(folders.isSuperset(of: ["Sources", "Tests", "Connectors", "Benchmarks"]), "read from Package.swift: \(folders)")
        let copied = Set(try Self.copiedFromContext())
        #expect(copied.contains("Package.swift"))
        for folder in folders.sorted() {
            #expect(copied.contains(folder), "Package.swift names targets under \(folder)/, and the Dockerfile does not copy it")
        }
        for source in copied.sorted() {
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(source).path), "COPY \(source): not in the repository")
        }
    }

    @Test("the health check runs the binary, not a shell feature the image's /bin/sh lacks")
    func healthCheckRunsTheBinary() throws {
        let dockerfile = try Self.text("Deploy/Dockerfile")
        let check = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix("HEALTHCHECK") })
        #expect(check.contains(#"CMD ["/app/switchboard", "health"]"#), "\(check)")
        #expect(!check.contains("/dev/tcp") && !check.contains("/bin/sh"), "dash, Debian's /bin/sh, has no /dev/tcp: \(check)")
        // The binary it names is the one the image installs.
        #expect(dockerfile.contains("COPY --from=build /out/ /app/"))
        #expect(dockerfile.contains("cp .build/release/switchboard /out/"))
    }
}
