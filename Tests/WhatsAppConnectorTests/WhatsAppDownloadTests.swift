import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp media downloads: up to the Cloud API's 16 MB of audio, bounded there, and a clear refusal past it")
struct WhatsAppDownloadTests {
    func lookup(size: Int) -> RecordingHTTPClient.Reply {
        .json(200, #"{"url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1","mime_type":"audio/ogg","file_size":\#(size),"id":"4471"}"#)
    }

    @Test("a 10 MB voice note is fetched with the download bounded at 16 MB")
    func withinLimit() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(lookup(size: 10_000_000), forPathSuffix: "/4471")
        http.setDefaultReply(.respond(.ok, headers: [:], body: [UInt8](repeating: 1, count: 10_000_000)))
        let audio = try await WhatsApp.connector.download(reference: "4471", credentials: WhatsApp.credentials, http: http)
        #expect(audio.count == 10_000_000)
        let fetch = try #require(http.requests.last)
        #expect(fetch.request.authority == "lookaside.fbsbx.com")
        #expect(fetch.maximumResponseBytes == 16 << 20)
    }

    @Test("a note the Cloud API says is over 16 MB is refused as too large, by name, and not fetched")
    func overLimit() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(lookup(size: 17_000_000), forPathSuffix: "/4471")
        do {
            _ = try await WhatsApp.connector.download(reference: "4471", credentials: WhatsApp.credentials, http: http)
            Issue.record("an oversized note was downloaded")
        } catch {
            #expect(error.code == .fileTooLarge)
            #expect(!error.retryable)
            #expect(error.message.contains("16 MB"))
        }
        #expect(http.requests.count == 1, "only the lookup")
    }
}
