import Foundation
import Hummingbird
import HummingbirdTesting
import SwitchboardApp
import SwitchboardPostgres
import Testing

@Suite("The workspace in Chromium: sign-up, invitation, two-factor, a Telegram conversation live, take over, reply")
struct InboxBrowserTests {
    @Test("an owner signs up and invites an operator, who sets up TOTP, signs in with a code, sees a Telegram message arrive live, takes it over and replies; Telegram gets that text once")
    func workspace() async throws {
        let reply = "We deliver to Medeu today until 18:00 — Aida"
        try await withAgentWorld(workers: 1, adjust: { $0.bcryptCost = 4 }, .live) { _, telegram, client, harness in
            let port = try #require(client.port)
            let screenshots = DashboardBrowserTests.root.appendingPathComponent(".build/screenshots")
            for name in ["inbox-desktop.png", "inbox-phone.png", "team.png", "failure.png"] {
                try? FileManager.default.removeItem(at: screenshots.appendingPathComponent(name))
            }
            // The server's clock stands still in these tests (an hour ahead): the browser's
            // authenticator computes its codes at the server's time.
            let serverNow = harness.clock.now().timeIntervalSince1970
            let result = try await SystemCommand(
                executable: "/usr/bin/python3",
                arguments: [
                    DashboardBrowserTests.root.appendingPathComponent("Tests/Browser/inbox.py").path, "--base", "http://127.0.0.1:\(port)",
                    "--bot-token", botToken, "--server-now", String(serverNow), "--reply", reply, "--screenshots", screenshots.path,
                ]
            ).run()
            #expect(result.status == 0, "\(result.output)")
            // The reply leaves through Telegram exactly once, with exactly that text.
            try await within(.seconds(60)) { await telegram.wait(for: 1, "sendMessage") }
            let sends = telegram.calls("sendMessage")
            #expect(sends.count == 1, "\(sends.map(\.json))")
            #expect(sends.first?.json["text"] == reply)
            #expect(sends.first?.json["chat_id"] == "7700123")
            for name in ["inbox-desktop", "inbox-phone", "team"] {
                let path = screenshots.appendingPathComponent("\(name).png").path
                let data = try #require(FileManager.default.contents(atPath: path), "no screenshot at \(path): \(result.output)")
                #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]) && data.count > 10_000)
            }
        }
    }
}
