import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailServerTesting
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("The platform's mail: invitation and verification links by real Postfix; the trial once per address")
struct PlatformMailTests {
    /// The link in a mail's text (quoted-printable or not: the links are plain ASCII).
    static func link(_ raw: [UInt8], path: String) throws -> String {
        let text = String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "=\r\n", with: "")
        let start = try #require(text.range(of: path), "no \(path) in:\n\(text)")
        let tail = text[start.lowerBound...]
        return String(tail.prefix { !$0.isWhitespace })
    }

    @Test("with SWITCHBOARD_SMTP_URL, an invitation is mailed (its link accepts), and a sign-up's verification link grants the trial once")
    func mailed() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let platform = try await TestMailServers.shared.makeMailbox(prefix: "platform")
        let invitee = try await TestMailServers.shared.makeMailbox(prefix: "invitee")
        let owner = try await TestMailServers.shared.makeMailbox(prefix: "owner")
        let user = platform.user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? platform.user
        try await withTeamApp(configure: { configuration in
            configuration.smtpURL = "smtp://\(user):\(platform.password)@\(endpoints.host):\(endpoints.submissionPort)"
            configuration.mailFrom = platform.address
            configuration.mailTrustFile = endpoints.caFile
            configuration.egressAllowPrivate = true
            configuration.signUpTrialMicros = 5_000_000
        }) { client in
            let ownerSession = try await signUp(client, email: owner.address)
            let verification = try await owner.waitForMessages(count: 1, timeout: .seconds(30))
            let verify = try Self.link(verification[0], path: "/auth/verify-email?token=")
            #expect(String(decoding: verification[0], as: UTF8.self).contains("Subject: Verify your email for Switchboard"))
            #expect(try object(try await call(client, ownerSession, .get, "/v1/credits"))["balance_micros"] as? Int == 0)
            let verified = try await client.execute(uri: verify, method: .get) { try object($0) }
            #expect(verified["trial_granted"] as? Bool == true)
            #expect(try object(try await call(client, ownerSession, .get, "/v1/credits"))["balance_micros"] as? Int == 5_000_000)
            // The link again: nothing more.
            try expectError(try await client.execute(uri: verify, method: .get) { $0 }, .notFound, "not_found")
            #expect(try object(try await call(client, ownerSession, .get, "/v1/credits"))["balance_micros"] as? Int == 5_000_000)

            let answer = try object(try await call(client, ownerSession, .post, "/v1/users/invitations", body: ["email": invitee.address, "role": "operator"]))
            #expect(answer["email_sent"] as? Bool == true)
            let mails = try await invitee.waitForMessages(count: 1, timeout: .seconds(30))
            let link = try Self.link(mails[0], path: "/app/accept-invitation?token=")
            #expect(link == (answer["invitation_url"] as? String).map { String($0[$0.range(of: "/app/")!.lowerBound...]) })
            let token = try #require(URLComponents(string: link)?.queryItems?.first?.value)
            let joined = try await client.execute(
                uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": token, "password": "invitee password"])
            ) { try session($0) }
            #expect(try object(try await call(client, joined, .get, "/v1/me"))["role"] as? String == "operator")
        }
    }

    @Test("without a mail server the operator verifies the owner; an address gets one trial, even after off-boarding and signing up again")
    func operatorVerifies() async throws {
        try await withTeamApp(configure: { $0.signUpTrialMicros = 2_000_000 }) { client in
            let email = uniqueEmail("owner")
            let first = try await signUp(client, email: email)
            let invitation = try object(try await call(client, first, .post, "/v1/users/invitations", body: ["email": uniqueEmail(), "role": "analyst"]))
            #expect(invitation["email_sent"] as? Bool == false)
            func verify(_ tenant: String) async throws -> [String: Any] {
                try await client.execute(uri: "/admin/tenants/\(tenant)/verify-owner", method: .post, headers: headers(bearer: adminToken)) {
                    #expect($0.status == .ok, "\(String(buffer: $0.body))")
                    return try object($0)
                }
            }
            #expect(try await verify(first.tenantID)["trial_granted"] as? Bool == true)
            #expect(try await verify(first.tenantID)["trial_granted"] as? Bool == false)
            #expect(try object(try await call(client, first, .get, "/v1/credits"))["balance_micros"] as? Int == 2_000_000)
            // The business leaves; the same address signs up again: no second trial.
            try await client.execute(uri: "/admin/tenants/\(first.tenantID)", method: .delete, headers: headers(bearer: adminToken)) {
                #expect($0.status == .ok)
            }
            let second = try await signUp(client, email: email)
            #expect(second.tenantID != first.tenantID)
            #expect(try await verify(second.tenantID)["trial_granted"] as? Bool == false)
            #expect(try object(try await call(client, second, .get, "/v1/credits"))["balance_micros"] as? Int == 0)
            // A made-up verification link, and an unknown tenant.
            let forged = try await client.execute(uri: "/auth/verify-email?token=\(second.tenantID).\(String(repeating: "x", count: 43))", method: .get) { $0 }
            try expectError(forged, .notFound, "not_found")
            try await client.execute(uri: "/admin/tenants/\(UUID().uuidString.lowercased())/verify-owner", method: .post, headers: headers(bearer: adminToken)) {
                try expectError($0, .notFound, "not_found")
            }
        }
    }
}
