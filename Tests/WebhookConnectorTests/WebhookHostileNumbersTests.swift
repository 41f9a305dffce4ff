import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing

@testable import WebhookConnector

@Suite("Generic webhook: hostile numbers and times are refused or bounded, never trapped")
struct WebhookHostileNumbersTests {
    static let timestamps: [String] = [
        "", "0000-01-01T00:00:00Z", "9999-12-31T23:59:60Z", "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59",
        "2026-02-29T00:00:00Z", "2024-02-29T00:00:00.999999999999999999999Z", "2026-11-23T10:15:00.Z", "2026-11-23T10:15:00",
        "+275760-09-13T00:00:00Z", "-0001-01-01T00:00:00Z", "２０２６-11-23T10:15:00Z", "2026-11-23T10:15:00Z ", "1e19",
        "99999-01-01T00:00:00Z", "2026-11-23T24:00:00Z", "2026-13-01T00:00:00Z",
    ]

    @Test("RFC 3339 times: any text is refused or a finite date", arguments: timestamps)
    func rfc3339(_ text: String) {
        if let date = RFC3339Timestamp.date(from: text) {
            #expect(date.timeIntervalSince1970.isFinite)
            #expect(abs(date.timeIntervalSince1970) < 253_402_300_800 + 86_400)
        }
    }

    @Test("a signature header's t of any text is refused or a 15-digit count of seconds", arguments: HostileText.corpus + [
        "999999999999999", "9999999999999999", "-1", "1763900000.5",
    ])
    func signatureTimestamp(_ t: String) {
        if let header = WebhookSignatureHeader("t=\(t),v1=00") {
            #expect((0...999_999_999_999_999).contains(header.seconds))
        }
        // And verification with it answers, whatever the skew.
        let delivery = WebhookDelivery(
            headers: [.switchboardSignature: "t=\(t),v1=00"], body: [], receivedAt: Date(timeIntervalSince1970: 1_763_900_000)
        )
        #expect(throws: ConnectorError.self) { try Webhook.connector.verify(delivery, credentials: Webhook.credentials) }
    }

    @Test("a callback's Retry-After of any text is no hint or 0 to 3600 seconds", arguments: HostileText.corpus)
    func callbackRetryAfter(_ text: String) async {
        let http = RecordingHTTPClient(defaultReply: .json(429, "", headers: [.retryAfter: text]))
        do {
            _ = try await Webhook.connector.send(
                OutboundMessage(chatExternalID: "c", text: "t", idempotencyKey: "k", context: [:]), credentials: Webhook.credentials, http: http
            )
            Issue.record("a 429 was taken for a success")
        } catch {
            #expect(error.retryable)
            if let seconds = error.retryAfter { #expect((0...RetryHint.ceiling).contains(seconds)) }
        }
    }
}
