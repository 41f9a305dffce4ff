public import ConnectorKit
import Foundation
import HTTPTypes

extension TelegramConnector {
    /// The largest file the Bot API lets a bot download (20 MB); the download is read up to
    /// this and no further.
    public static let maximumDownload = 20 << 20

    /// `getFile` for the file's path, then `GET {apiBase}/file/bot{token}/{path}`. The
    /// token is in both URLs: errors name the step, never the URL.
    public func download(
        reference: String, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> [UInt8] {
        guard let token = credentials["bot_token"], Self.isBotToken(token) else {
            throw ConnectorError(.credentialsRejected, "the channel has no usable bot_token", field: "bot_token")
        }
        let call = try await call("getFile", body: GetFile(fileID: reference), token: token, http: http, result: File.self)
        guard let file = call.result else {
            // For a file over its limit the Bot API answers getFile with 400 "file is too big".
            if call.errorCode == 400, call.answer?.description?.lowercased().contains("too big") == true {
                throw ConnectorError(.fileTooLarge, "the file is larger than the 20 MB Telegram lets a bot download")
            }
            throw call.failure
        }
        if let size = file.fileSize, size > Self.maximumDownload {
            throw ConnectorError(
                .fileTooLarge, "the file is \(size) bytes: Telegram lets a bot download files of up to 20 MB (\(Self.maximumDownload) bytes)"
            )
        }
        guard let path = file.filePath, !path.contains("..") else {
            throw ConnectorError(.sendFailed, "Telegram offers no downloadable path for this file")
        }
        var request = HTTPRequest(method: .get, url: apiBase)
        let basePath = String((request.path ?? "/").prefix { $0 != "?" })
        request.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/file/bot\(token)/\(path)"
        let response: HTTPResponse
        let bytes: [UInt8]
        do {
            (response, bytes) = try await http.execute(request, body: nil, maximumResponseBytes: Self.maximumDownload)
        } catch {
            throw ConnectorError(.sendFailed, "could not download the file from Telegram", retryable: true)
        }
        guard response.status.kind == .successful, bytes.count <= Self.maximumDownload else {
            throw ConnectorError(.sendFailed, "Telegram refused the file download (\(response.status.code))", retryable: response.status.code >= 500)
        }
        return bytes
    }

    struct GetFile: Encodable {
        var fileID: String
        enum CodingKeys: String, CodingKey { case fileID = "file_id" }
    }

    struct File: Decodable {
        var filePath: String?
        var fileSize: Int?
        enum CodingKeys: String, CodingKey { case filePath = "file_path", fileSize = "file_size" }
    }
}
