import ConnectorKit
import Foundation
import SwitchboardApp
import Testing

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test("a malformed platform API base stops start-up naming its setting; it never falls back to the public default")
    func malformedPlatformBase() throws {
        for (variable, text) in [
            ("SWITCHBOARD_TELEGRAM_API_BASE", "api.telegram.org"), ("SWITCHBOARD_TELEGRAM_API_BASE", "ftp://files.example.com"),
            ("SWITCHBOARD_GRAPH_API_BASE", "https://"), ("SWITCHBOARD_GRAPH_API_BASE", "https://graph.example.com/?v=1"),
            ("SWITCHBOARD_GRAPH_API_BASE", "not a url at all"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment([variable: text]) }
            #expect(error?.message.contains(variable) == true, "\(variable)=\(text): \(error?.message ?? "no error")")
        }
        let configuration = try AppConfiguration.fromEnvironment([
            "SWITCHBOARD_TELEGRAM_API_BASE": "http://10.0.0.5:8081", "SWITCHBOARD_GRAPH_API_BASE": "https://graph.example.com/base",
        ])
        #expect(configuration.platformBases["telegram"]?.absoluteString == "http://10.0.0.5:8081")
        #expect(configuration.platformBases["whatsapp"]?.absoluteString == "https://graph.example.com/base")
        #expect(try AppConfiguration.fromEnvironment([:]).platformBases["telegram"]?.absoluteString == "https://api.telegram.org")
    }

    @Test("a number out of range or not a number names its setting and its range")
    func malformedNumbers() {
        for (variable, text) in [("SWITCHBOARD_PORT", "70000"), ("SWITCHBOARD_DB_POOL", "many"), ("SWITCHBOARD_WORKERS", "-1")] {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment([variable: text]) }
            #expect(error?.message.contains(variable) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("must be an integer from") == true)
        }
    }

    @Test("the README's configuration table lists every setting, no other, each with its default")
    func readmeTableMatchesTheDeclarations() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Configuration").dropFirst().first?.components(separatedBy: "\n### ").first)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| `") }
        var documented: [String: String] = [:]
        for row in rows {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let names = cells[1].matches(of: /`([A-Z_]+)`/).map { String($0.output.1) }
            // The default column, without the code quotes.
            for name in names { documented[name] = cells[cells.count - 2].replacingOccurrences(of: "`", with: "") }
        }
        #expect(Set(documented.keys) == Set(AppSetting.all.map(\.variable)), "README: \(documented.keys.sorted())")
        for setting in AppSetting.all {
            let column = try #require(documented[setting.variable], "\(setting.variable) is not in the README's table")
            #expect(column.contains(setting.defaultText), "\(setting.variable): README says \(column), the declaration \(setting.defaultText)")
        }
    }

    @Test("the settings' flags are taken wherever they stand, with = or a separate value; the rest is left for the command")
    func flagsFromTheCommandLine() throws {
        let (settings, rest) = try AppSetting.flags(in: [
            "tenants", "create", "--home", "/srv/sb", "Acme", "--trial-credits-micros", "5", "--port=9090", "--", "--port", "1",
        ])
        #expect(settings == ["SWITCHBOARD_HOME": "/srv/sb", "SWITCHBOARD_PORT": "9090"])
        #expect(rest == ["tenants", "create", "Acme", "--trial-credits-micros", "5", "--", "--port", "1"])
        let error = #expect(throws: ConfigurationError.self) { try AppSetting.flags(in: ["serve", "--db-pool"]) }
        #expect(error?.message.contains("--db-pool needs a value") == true)
        #expect(AppSetting.all.first { $0.variable == "DATABASE_URL" }?.flag == "--database-url")
        #expect(AppSetting.all.first { $0.variable == "SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS" }?.flag == "--db-acquire-timeout-ms")
    }

    @Test("each connector describes itself: its kind is its instances' kind, its API base is a setting with its default")
    func connectorsDescribeThemselves() throws {
        let configuration = AppConfiguration()
        let registry = ConnectorRegistry.standard(configuration, now: Date.init)
        let kinds = ConnectorRegistry.available.map { $0.description.kind }
        #expect(registry.kinds == kinds.sorted())
        for connector in ConnectorRegistry.available {
            let description = connector.description
            #expect(connector.make(apiBase: nil, now: Date.init).kind == description.kind)
            #expect(!description.subProcessor.name.isEmpty)
            if let base = description.apiBase {
                let setting = try #require(AppSetting.all.first { $0.variable == "SWITCHBOARD_" + base.setting }, "\(base.setting)")
                #expect(setting.defaultText == base.defaultURL.absoluteString)
                #expect(configuration.platformBases[description.kind] == base.defaultURL)
                var changed = configuration
                try changed.apply(["SWITCHBOARD_" + base.setting: "http://10.1.2.3:8080/api"])
                #expect(changed.platformBases[description.kind]?.absoluteString == "http://10.1.2.3:8080/api")
            }
        }
    }
}
