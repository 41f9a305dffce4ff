import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram file downloads: up to the Bot API's 20 MB, bounded there, and a clear refusal past it")
struct TelegramDownloadTests {
    func getFile(size: Int) -> RecordingHTTPClient.Reply {
        .json(200, #"{"ok":true,"result":{"file_id":"v","file_unique_id":"u","file_size":\#(size),"file_path":"voice/file_9.oga"}}"#)
    }

    @Test("a 15 MB voice note is fetched whole, with the download bounded at 20 MB")
    func withinLimit() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(getFile(size: 15_000_000), forPathSuffix: "/getFile")
        http.enqueue(.respond(.ok, headers: [:], body: [UInt8](repeating: 7, count: 15_000_000)), forPathSuffix: "/file_9.oga")
        let audio = try await Telegram.connector.download(reference: "v", credentials: Telegram.credentials, http: http)
        #expect(audio.count == 15_000_000)
        let fetch = try #require(http.requests(pathSuffix: "/file_9.oga").first)
        #expect(fetch.maximumResponseBytes == 20 << 20)
    }

    @Test("a file over 20 MB — by its stated size, or by Telegram's own 'file is too big' — is refused as too large, and not fetched")
    func overLimit() async throws {
        for reply in [getFile(size: 21 << 20), .json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}"#)] {
            let http = RecordingHTTPClient()
            http.enqueue(reply, forPathSuffix: "/getFile")
            do {
                _ = try await Telegram.connector.download(reference: "v", credentials: Telegram.credentials, http: http)
                Issue.record("an oversized file was downloaded")
            } catch {
                #expect(error.code == .fileTooLarge)
                #expect(!error.retryable)
                #expect(error.message.contains("20 MB"))
                #expect(!error.message.contains(Telegram.token), "no token in errors")
            }
            #expect(http.requests.count == 1, "only getFile")
        }
    }
}
