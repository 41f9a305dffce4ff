public import ConnectorKit
public import HTTPTypes

/// Checks every connector must pass, shared by the connectors' test suites.
///
/// It does not import a test framework: `run()` returns one sentence per failed check, so a
/// suite asserts `#expect(conformance.run() == [])` and a failure names what broke.
///
/// Checks: a valid delivery verifies and parses, deterministically; its signature headers
/// removed, or altered in one character, it is refused `unauthorized`; with its body
/// changed by one byte it is refused `unauthorized` (for connectors whose signature covers
/// the body); an empty body, signed or not, never yields events; non-JSON bytes parse as
/// `malformed`; and no error text repeats a credential value or an expected signature.
public struct ConnectorConformance: Sendable {
    /// How a platform authenticates deliveries.
    public enum Authentication: Sendable {
        /// The signature is computed over the body (HMAC): any change to the bytes fails.
        case signedBody
        /// A shared secret travels in a header (Telegram): it proves the sender, not the
        /// bytes, so a changed body still verifies and only the header is checked.
        case secretHeader
    }

    /// The connector under test.
    public var connector: any Connector
    /// The channel credentials the deliveries are signed for.
    public var credentials: ChannelCredentials
    /// A delivery that is correctly signed for `credentials` and parses into events.
    public var validDelivery: WebhookDelivery
    /// The header fields that carry the signature or secret.
    public var signatureHeaders: [HTTPField.Name]
    /// Whether the signature covers the body (`.signedBody`) or only proves the sender.
    public var authentication: Authentication
    /// The signature header fields a correct sender would put on `body` (received at the
    /// valid delivery's `receivedAt`).
    public var sign: @Sendable (_ body: [UInt8]) -> HTTPFields

    /// The checks for `connector`; `sign` must produce headers `connector` accepts for any body.
    public init(
        connector: any Connector,
        credentials: ChannelCredentials,
        validDelivery: WebhookDelivery,
        signatureHeaders: [HTTPField.Name],
        authentication: Authentication = .signedBody,
        sign: @escaping @Sendable (_ body: [UInt8]) -> HTTPFields
    ) {
        self.connector = connector
        self.credentials = credentials
        self.validDelivery = validDelivery
        self.signatureHeaders = signatureHeaders
        self.authentication = authentication
        self.sign = sign
    }

    /// Runs every check; an empty answer means the connector conforms.
    public func run() -> [String] {
        var failures: [String] = []
        checkValidDelivery(&failures)
        checkTamperedBody(&failures)
        checkMissingSignature(&failures)
        checkAlteredSignature(&failures)
        checkEmptyBody(&failures)
        checkNonJSON(&failures)
        return failures
    }

    // MARK: - Checks

    private func checkValidDelivery(_ failures: inout [String]) {
        do throws(ConnectorError) {
            try connector.verify(validDelivery, credentials: credentials)
        } catch {
            failures.append("the valid delivery did not verify: \(error)")
            return
        }
        do throws(ConnectorError) {
            let first = try connector.parse(validDelivery, credentials: credentials)
            let second = try connector.parse(validDelivery, credentials: credentials)
            if first.isEmpty { failures.append("the valid delivery parsed into no events") }
            if first != second { failures.append("parsing the same delivery twice gave different events") }
        } catch {
            failures.append("the valid delivery did not parse: \(error)")
        }
    }

    private func checkTamperedBody(_ failures: inout [String]) {
        guard !validDelivery.body.isEmpty else {
            failures.append("the valid delivery has an empty body; give one with content")
            return
        }
        var tampered = validDelivery
        let index = tampered.body.count / 2
        tampered.body[index] = tampered.body[index] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
        switch authentication {
        case .signedBody:
            let leaks = Array(sign(tampered.body).map(\.value))
            expectUnauthorized(tampered, "the body changed by one byte", leaks: leaks, &failures)
        case .secretHeader:
            // The secret proves the sender only; nothing to refuse here, but the header
            // checks below must hold for this shape of delivery too.
            break
        }
    }

    private func checkMissingSignature(_ failures: inout [String]) {
        var stripped = validDelivery
        for name in signatureHeaders { stripped.headers[name] = nil }
        expectUnauthorized(stripped, "the signature headers removed", leaks: [], &failures)
        for name in signatureHeaders {
            var emptied = validDelivery
            emptied.headers[name] = ""
            expectUnauthorized(emptied, "the header \(name) empty", leaks: [], &failures)
        }
    }

    private func checkAlteredSignature(_ failures: inout [String]) {
        for name in signatureHeaders {
            guard let value = validDelivery.headers[name], let last = value.last else {
                failures.append("the valid delivery has no \(name) header")
                continue
            }
            var altered = validDelivery
            altered.headers[name] = String(value.dropLast()) + (last == "0" ? "1" : "0")
            expectUnauthorized(altered, "the header \(name) altered in its last character", leaks: [value], &failures)
        }
    }

    private func checkEmptyBody(_ failures: inout [String]) {
        var unsigned = validDelivery
        unsigned.body = []
        expectNoEvents(unsigned, "an empty body with the original headers", &failures)

        var signed = validDelivery
        signed.body = []
        signed.headers = replacingSignature(in: validDelivery.headers, with: sign([]))
        expectNoEvents(signed, "an empty body, correctly signed", &failures)
    }

    private func checkNonJSON(_ failures: inout [String]) {
        var delivery = validDelivery
        delivery.body = Array("this is not JSON {".utf8)
        delivery.headers = replacingSignature(in: validDelivery.headers, with: sign(delivery.body))
        do throws(ConnectorError) {
            try connector.verify(delivery, credentials: credentials)
        } catch {
            failures.append("non-JSON bytes correctly signed did not verify (check the sign closure): \(error)")
        }
        do throws(ConnectorError) {
            let events = try connector.parse(delivery, credentials: credentials)
            failures.append("non-JSON bytes parsed into \(events.count) event(s) instead of malformed")
        } catch {
            if error.code != .malformed { failures.append("non-JSON bytes threw \(error.code), expected malformed") }
            checkSecrets(in: error, context: "parsing non-JSON bytes", leaks: [], &failures)
        }
    }

    // MARK: - Helpers

    private func expectUnauthorized(_ delivery: WebhookDelivery, _ what: String, leaks: [String], _ failures: inout [String]) {
        do throws(ConnectorError) {
            try connector.verify(delivery, credentials: credentials)
            failures.append("\(what): verified, expected unauthorized")
        } catch {
            if error.code != .unauthorized { failures.append("\(what): threw \(error.code), expected unauthorized") }
            checkSecrets(in: error, context: what, leaks: leaks, &failures)
        }
    }

    /// Either verification refuses the delivery, or parsing it throws: never events.
    private func expectNoEvents(_ delivery: WebhookDelivery, _ what: String, _ failures: inout [String]) {
        do throws(ConnectorError) {
            try connector.verify(delivery, credentials: credentials)
        } catch {
            if error.code != .unauthorized { failures.append("\(what): verify threw \(error.code), expected unauthorized") }
            checkSecrets(in: error, context: what, leaks: [], &failures)
            return
        }
        do throws(ConnectorError) {
            let events = try connector.parse(delivery, credentials: credentials)
            failures.append("\(what): accepted as \(events.count) event(s)")
        } catch {
            if error.code != .malformed && error.code != .unauthorized {
                failures.append("\(what): parse threw \(error.code), expected malformed")
            }
            checkSecrets(in: error, context: what, leaks: [], &failures)
        }
    }

    private func replacingSignature(in headers: HTTPFields, with signature: HTTPFields) -> HTTPFields {
        var result = headers
        for name in signatureHeaders { result[name] = nil }
        for field in signature { result.append(field) }
        return result
    }

    /// No error text carries a credential value (of 6 characters or more: shorter values
    /// such as a phone-number id's digits could occur by chance) or an expected signature.
    private func checkSecrets(in error: ConnectorError, context: String, leaks: [String], _ failures: inout [String]) {
        let text = error.description + " " + error.message + " " + (error.field ?? "")
        for (name, value) in credentials.values where value.count >= 6 && text.contains(value) {
            failures.append("\(context): the error text contains the credential \(name)")
        }
        for secret in leaks where !secret.isEmpty && text.contains(secret) {
            failures.append("\(context): the error text contains a signature or secret")
        }
    }
}
