public import ConnectorKit
import Foundation
import HTTPTypes

extension WhatsAppConnector {
    /// The largest audio file the Cloud API takes (16 MB); the download is read up to this
    /// and no further.
    public static let maximumDownload = 16 << 20

    /// `GET /{version}/{media-id}` for the media's short-lived URL, then that URL, both with
    /// the access token. The URL must be https (Meta's CDN) or on the configured Graph
    /// API host; errors never repeat the URL or the token.
    public func download(
        reference: String, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> [UInt8] {
        guard let token = credentials["access_token"], !token.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no access_token", field: "access_token")
        }
        guard !reference.isEmpty, reference.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ConnectorError(.sendFailed, "the media id is not one the Cloud API issues")
        }
        var lookup = HTTPRequest(method: .get, url: graphAPIBase)
        let basePath = String((lookup.path ?? "/").prefix { $0 != "?" })
        lookup.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/\(apiVersion)/\(reference)"
        lookup.headerFields[.authorization] = "Bearer \(token)"
        lookup.headerFields[.accept] = "application/json"
        let media: Media
        do {
            let (response, body) = try await http.execute(lookup, body: nil)
            guard response.status.kind == .successful else {
                throw ConnectorError(.sendFailed, "the Cloud API refused the media lookup (\(response.status.code))")
            }
            media = try JSONDecoder().decode(Media.self, from: Data(body))
        } catch let error as ConnectorError {
            throw error
        } catch {
            throw ConnectorError(.sendFailed, "could not look the media up in the Cloud API", retryable: true)
        }
        if let size = media.fileSize, size > Self.maximumDownload {
            throw ConnectorError(
                .fileTooLarge, "the media is \(size) bytes: WhatsApp audio is at most 16 MB (\(Self.maximumDownload) bytes)"
            )
        }
        guard let url = URL(string: media.url), let host = url.host,
              url.scheme == "https" || host == graphAPIBase.host
        else {
            throw ConnectorError(.sendFailed, "the Cloud API answered a media URL Switchboard does not fetch")
        }
        var fetch = HTTPRequest(method: .get, url: url)
        fetch.headerFields[.authorization] = "Bearer \(token)"
        do {
            let (response, bytes) = try await http.execute(fetch, body: nil, maximumResponseBytes: Self.maximumDownload)
            guard response.status.kind == .successful, bytes.count <= Self.maximumDownload else {
                throw ConnectorError(.sendFailed, "the media download was refused (\(response.status.code))")
            }
            return bytes
        } catch let error as ConnectorError {
            throw error
        } catch {
            throw ConnectorError(.sendFailed, "could not download the media", retryable: true)
        }
    }

    struct Media: Decodable {
        var url: String
        var fileSize: Int?
        enum CodingKeys: String, CodingKey { case url, fileSize = "file_size" }
    }
}
