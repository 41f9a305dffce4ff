import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("The team: sign-up, invitations, sessions with CSRF, roles, two-factor, the sign-in journal")
struct WorkspaceTests {
    @Test("a business signs up, is its owner, signed in; the cookie is HttpOnly and SameSite=Lax; /v1/me answers the person")
    func signUpSignsIn() async throws {
        try await withTeamApp { client in
            let email = uniqueEmail("owner")
            let response = try await client.execute(
                uri: "/auth/sign-up", method: .post, headers: headers(),
                body: json(["company": "Bakery", "email": email.uppercased(), "password": "correct horse battery"])
            ) { $0 }
            #expect(response.status == .created)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "served over plain HTTP here: no Secure")
            #expect(response.headers[.cacheControl] == "no-store")
            let owner = try session(response)
            let me = try object(try await call(client, owner, .get, "/v1/me"))
            #expect((me["user"] as? [String: Any])?["email"] as? String == email)
            #expect(me["role"] as? String == "owner")
            #expect((me["tenant"] as? [String: Any])?["name"] as? String == "Bakery")
            // The same address cannot sign up twice.
            let again = try await client.execute(
                uri: "/auth/sign-up", method: .post, headers: headers(),
                body: json(["company": "Bakery 2", "email": email, "password": "correct horse battery"])
            ) { $0 }
            try expectError(again, .conflict, "conflict")
        }
    }

    @Test("bad sign-ups are refused naming the field; sign-ups per address are limited")
    func signUpRefusals() async throws {
        try await withTeamApp(configure: { $0.signUpsPerHour = 5 }) { client in
            for (fields, field) in [
                (["company": "A", "email": "not-an-address", "password": "correct horse battery"], "email"),
                (["company": "A", "email": uniqueEmail(), "password": "short"], "password"),
                (["company": "", "email": uniqueEmail(), "password": "correct horse battery"], "company"),
                (["company": "A", "email": uniqueEmail(), "password": String(repeating: "p", count: 73)], "password"),
            ] as [([String: String], String)] {
                let response = try await client.execute(uri: "/auth/sign-up", method: .post, headers: headers(), body: json(fields)) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
            // Every attempt counts, refused or not: the fifth signs up, the sixth waits.
            _ = try await signUp(client, email: uniqueEmail())
            let limited = try await client.execute(
                uri: "/auth/sign-up", method: .post, headers: headers(),
                body: json(["company": "A", "email": uniqueEmail(), "password": "correct horse battery"])
            ) { $0 }
            try expectError(limited, .tooManyRequests, "rate_limited")
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test("sign-in: a wrong password and an unknown address get the same answer; the owner sees the attempts in the journal")
    func signInAndJournal() async throws {
        try await withTeamApp { client in
            let email = uniqueEmail("owner")
            let owner = try await signUp(client, email: email)
            let wrong = try await signIn(client, email: email, password: "not the password")
            try expectError(wrong, .unauthorized, "unauthorized")
            let unknown = try await signIn(client, email: uniqueEmail("nobody"))
            try expectError(unknown, .unauthorized, "unauthorized")
            #expect(try object(wrong)["error"] as? NSDictionary == (try object(unknown)["error"] as? NSDictionary))
            let again = try session(try await signIn(client, email: email))
            #expect(again.cookie != owner.cookie)
            let events = try object(try await call(client, owner, .get, "/v1/login-events"))
            let outcomes = try #require(events["data"] as? [[String: Any]]).map { $0["outcome"] as? String }
            #expect(outcomes.prefix(2) == ["signed_in", "wrong_password"])
            let first = try #require((events["data"] as? [[String: Any]])?.first)
            #expect(first["email"] as? String == email && first["user_id"] as? String == owner.userID)
            #expect(first["source"] as? String != nil)
        }
    }

    @Test("brute force on one account: after ten failures it waits (429), journaled, even with the right password")
    func accountLockout() async throws {
        try await withTeamApp(configure: { $0.rateLimitFailures = 0 }) { client in
            let email = uniqueEmail("owner")
            let owner = try await signUp(client, email: email)
            for _ in 0..<10 {
                try expectError(try await signIn(client, email: email, password: "guess guess guess"), .unauthorized, "unauthorized")
            }
            let locked = try await signIn(client, email: email)
            try expectError(locked, .tooManyRequests, "rate_limited")
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 > 60)
            let events = try object(try await call(client, owner, .get, "/v1/login-events?limit=1"))
            #expect((events["data"] as? [[String: Any]])?.first?["outcome"] as? String == "rate_limited")
        }
    }

    @Test("failures from one address are limited across accounts (guessing many addresses)")
    func addressLimit() async throws {
        try await withTeamApp(configure: { $0.rateLimitFailures = 3 }) { client in
            for _ in 0..<3 { try expectError(try await signIn(client, email: uniqueEmail()), .unauthorized, "unauthorized") }
            try expectError(try await signIn(client, email: uniqueEmail()), .tooManyRequests, "rate_limited")
        }
    }

    @Test("a state-changing call with a session needs the CSRF token: missing or forged is 403; reads need none")
    func csrf() async throws {
        try await withTeamApp { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let missing = try await call(client, owner, .post, "/v1/users/invitations", body: ["email": uniqueEmail(), "role": "operator"], csrf: .some(nil))
            try expectError(missing, .forbidden, "forbidden")
            let forged = try await call(
                client, owner, .post, "/v1/users/invitations", body: ["email": uniqueEmail(), "role": "operator"],
                csrf: .some(String(owner.csrf.reversed()))
            )
            try expectError(forged, .forbidden, "forbidden")
            #expect(try await call(client, owner, .get, "/v1/users", csrf: .some(nil)).status == .ok)
            let users = try object(try await call(client, owner, .get, "/v1/users"))
            #expect((users["data"] as? [Any])?.count == 1, "nothing was invited")
        }
    }

    @Test("sign-out ends the session; sign-out everywhere ends them all; a removed person's sessions end")
    func signOut() async throws {
        try await withTeamApp { client in
            let email = uniqueEmail("owner")
            let first = try await signUp(client, email: email)
            let second = try session(try await signIn(client, email: email))
            let third = try session(try await signIn(client, email: email))
            let out = try await call(client, first, .post, "/auth/sign-out")
            #expect(out.status == .ok)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            try expectError(try await call(client, first, .get, "/v1/me"), .unauthorized, "unauthorized")
            #expect(try await call(client, second, .get, "/v1/me").status == .ok)
            #expect(try await call(client, second, .post, "/auth/sign-out", body: ["everywhere": true]).status == .ok)
            try expectError(try await call(client, third, .get, "/v1/me"), .unauthorized, "unauthorized")
            let owner = try session(try await signIn(client, email: email))
            let operatorSession = try await invite(client, by: owner, email: uniqueEmail("op"), role: "operator")
            #expect(try await call(client, owner, .delete, "/v1/users/\(operatorSession.userID)").status == .ok)
            try expectError(try await call(client, operatorSession, .get, "/v1/conversations"), .unauthorized, "unauthorized")
            let events = try object(try await call(client, owner, .get, "/v1/login-events"))
            let outcomes = try #require(events["data"] as? [[String: Any]]).compactMap { $0["outcome"] as? String }
            #expect(outcomes.contains("signed_out") && outcomes.contains("signed_out_everywhere"))
        }
    }

    @Test("invitations: good once, refused when expired; the invited person signs in with their password")
    func invitations() async throws {
        let clock = ManualClock()
        try await withTeamApp(now: { clock.now }) { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let email = uniqueEmail("op")
            let response = try await call(client, owner, .post, "/v1/users/invitations", body: ["email": email, "role": "operator"])
            #expect(response.status == .created)
            let invitation = try object(response)
            let url = try #require(invitation["invitation_url"] as? String)
            #expect(url.contains("/app/accept-invitation?token="))
            let token = try #require(URLComponents(string: url)?.queryItems?.first?.value)
            let accepted = try await client.execute(
                uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": token, "password": "operator password 1"])
            ) { try session($0) }
            let again = try await client.execute(
                uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": token, "password": "operator password 1"])
            ) { $0 }
            try expectError(again, .conflict, "conflict")
            #expect(try await call(client, accepted, .get, "/v1/me").status == .ok)
            #expect(try session(try await signIn(client, email: email, password: "operator password 1")).userID == accepted.userID)
            // An invitation a week and a day old is refused. (The expiry is the database's
            // clock against the one written, so it is written in the past here.)
            let late = try await call(client, owner, .post, "/v1/users/invitations", body: ["email": uniqueEmail("late"), "role": "analyst"])
            let lateURL = try #require(try object(late)["invitation_url"] as? String)
            let lateToken = try #require(URLComponents(string: lateURL)?.queryItems?.first?.value)
            try await expire(invitationToken: lateToken)
            let expired = try await client.execute(
                uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": lateToken, "password": "operator password 1"])
            ) { $0 }
            try expectError(expired, .conflict, "conflict")
            // A made-up token, or another tenant's id on a real secret: not found.
            let parts = lateToken.split(separator: ".")
            let forged = "\(UUID().uuidString.lowercased()).\(parts[1])"
            let wrongTenant = try await client.execute(
                uri: "/auth/accept-invitation", method: .post, headers: headers(), body: json(["token": forged, "password": "operator password 1"])
            ) { $0 }
            try expectError(wrongTenant, .notFound, "not_found")
        }
    }

    func expire(invitationToken: String) async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let tenant = String(invitationToken.split(separator: ".")[0])
        try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
            try await connection.query(
                "UPDATE user_invitations SET expires_at = now() - interval '1 day' WHERE tenant_id = \(UUID(uuidString: tenant)!) AND accepted_at IS NULL",
                logger: TestDatabase.logger
            )
        }
    }

    @Test("two-factor: set up with a code, then sign-in needs a code; a wrong or reused code is refused; a recovery code works once")
    func twoFactor() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await withTeamApp(now: { clock.now }) { client in
            let email = uniqueEmail("owner")
            let owner = try await signUp(client, email: email)
            let setup = try object(try await call(client, owner, .post, "/v1/me/totp"))
            let secret = try #require(setup["secret"] as? String)
            #expect((setup["otpauth_url"] as? String)?.hasPrefix("otpauth://totp/") == true)
            let wrongConfirm = try await call(client, owner, .post, "/v1/me/totp/confirm", body: ["code": "000000"])
            try expectError(wrongConfirm, .badRequest, "invalid_request", field: "code")
            let confirmed = try await call(client, owner, .post, "/v1/me/totp/confirm", body: ["code": totpCode(base32: secret, at: clock.now)])
            #expect(confirmed.status == .ok, "body: \(String(buffer: confirmed.body))")
            let codes = try #require(try object(confirmed)["recovery_codes"] as? [String])
            #expect(codes.count == 10 && Set(codes).count == 10)

            // The password alone: 401 totp_required, no session.
            let bare = try await signIn(client, email: email)
            try expectError(bare, .unauthorized, "totp_required")
            #expect(bare.headers[.setCookie] == nil)
            clock.advance(30)
            try expectError(try await signIn(client, email: email, totp: "123456"), .unauthorized, "unauthorized", field: "totp_code")
            let code = totpCode(base32: secret, at: clock.now)
            let signedIn = try await signIn(client, email: email, totp: code)
            #expect(signedIn.status == .ok)
            // The same code again, within its window: refused.
            try expectError(try await signIn(client, email: email, totp: code), .unauthorized, "unauthorized", field: "totp_code")
            // A wrong password with a right code is still the password's refusal.
            clock.advance(30)
            try expectError(
                try await signIn(client, email: email, password: "wrong password!", totp: totpCode(base32: secret, at: clock.now)),
                .unauthorized, "unauthorized"
            )
            #expect(try await signIn(client, email: email, recovery: codes[0].uppercased()).status == .ok)
            try expectError(try await signIn(client, email: email, recovery: codes[0]), .unauthorized, "unauthorized", field: "recovery_code")
            let events = try object(try await call(client, owner, .get, "/v1/login-events?limit=200"))
            let outcomes = Set(try #require(events["data"] as? [[String: Any]]).compactMap { $0["outcome"] as? String })
            #expect(outcomes.isSuperset(of: ["totp_required", "wrong_totp", "reused_totp", "recovery_code_used", "wrong_recovery_code"]))
            // Starting again while on is a conflict.
            try expectError(try await call(client, owner, .post, "/v1/me/totp"), .conflict, "conflict")
        }
    }

    @Test("an owner requires two-factor for the team: a member without it may only set it up")
    func requiredTwoFactor() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await withTeamApp(now: { clock.now }) { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let email = uniqueEmail("op")
            _ = try await invite(client, by: owner, email: email, role: "operator")
            let admin = try await invite(client, by: owner, email: uniqueEmail("admin"), role: "admin")
            // Only an owner sets the rule.
            try expectError(
                try await call(client, admin, .patch, "/v1/tenant", body: ["require_two_factor": true]), .forbidden, "insufficient_scope"
            )
            let set = try await call(client, owner, .patch, "/v1/tenant", body: ["require_two_factor": true])
            #expect(try object(set)["require_two_factor"] as? Bool == true)
            let member = try session(try await signIn(client, email: email))
            try expectError(try await call(client, member, .get, "/v1/conversations"), .forbidden, "two_factor_required")
            let setup = try object(try await call(client, member, .post, "/v1/me/totp"))
            let secret = try #require(setup["secret"] as? String)
            #expect(try await call(client, member, .post, "/v1/me/totp/confirm", body: ["code": totpCode(base32: secret, at: clock.now)]).status == .ok)
            #expect(try await call(client, member, .get, "/v1/conversations").status == .ok)
        }
    }

    @Test("the workspace's pages: no session is 401 (a browser goes to sign-in and back), a page beyond the role is 403, next stays on this site")
    func pagesBehindTheSession() async throws {
        try await withTeamApp { client in
            var html = HTTPFields()
            html[.accept] = "text/html"
            try await client.execute(uri: "/app/team", method: .get) { try expectError($0, .unauthorized, "unauthorized") }
            try await client.execute(uri: "/app/team?x=1", method: .get, headers: html) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/app/sign-in?next=%2Fapp%2Fteam%3Fx%3D1")
            }
            // A cookie that names no session: the same, and the cookie is cleared.
            var stale = html
            stale[.cookie] = "sb_session=\(UUID().uuidString.lowercased()).\(String(repeating: "a", count: 43))"
            try await client.execute(uri: "/app/inbox", method: .get, headers: stale) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let analyst = try await invite(client, by: owner, email: uniqueEmail("analyst"), role: "analyst")
            try expectError(try await call(client, analyst, .get, "/app/inbox"), .forbidden, "insufficient_scope")
            var page = html
            page[.cookie] = analyst.cookie
            try await client.execute(uri: "/app/team", method: .get, headers: page) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("the analyst role cannot open this page"))
            }
            try await client.execute(uri: "/app/analytics", method: .get, headers: page) { #expect($0.status == .ok) }
            // Sign-in sends back only to a path of this site.
            for (next, expected) in [("/app/team", "/app/team"), ("//evil.example/x", "/app/inbox"), ("https://evil.example", "/app/inbox")] {
                let query = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                try await client.execute(uri: "/app/sign-in?next=\(query)", method: .get, headers: html) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("data-after=\"\(expected)\""), "next=\(next)")
                }
            }
        }
    }
}
