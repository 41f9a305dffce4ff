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
        #expect(configuration.telegramAPIBase.absoluteString == "http://10.0.0.5:8081")
        #expect(configuration.graphAPIBase.absoluteString == "https://graph.example.com/base")
        #expect(try AppConfiguration.fromEnvironment([:]).telegramAPIBase.absoluteString == "https://api.telegram.org")
    }

    @Test("a number out of range or not a number names its setting and its range")
    func malformedNumbers() {
        for (variable, text) in [("SWITCHBOARD_PORT", "70000"), ("SWITCHBOARD_DB_POOL", "many"), ("SWITCHBOARD_WORKERS", "-1")] {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment([variable: text]) }
            #expect(error?.message.contains(variable) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("must be an integer from") == true)
        }
    }
}
