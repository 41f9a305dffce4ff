import Foundation
import SwitchboardCore

extension OpenAIChatProvider {
    /// Speech to text: `POST {base}/audio/transcriptions` (multipart: the audio and the
    /// model), as OpenAI and the compatible servers that transcribe (whisper.cpp, vLLM,
    /// LocalAI) take it. The audio is sent once and kept nowhere; answers the text.
    public func transcribe(
        audio: [UInt8], fileName: String, mimeType: String, model: String
    ) async throws(ModelProviderError) -> String {
        guard let baseURL else {
            throw ModelProviderError(.badRequest, "the \(kind.rawValue) provider has no base_url")
        }
        let boundary = "switchboard-\(UUID().uuidString)"
        var body: [UInt8] = []
        func field(_ name: String, _ value: String) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        field("model", model)
        field("response_format", "json")
        let safeName = fileName.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(safeName.isEmpty ? "audio" : safeName)\"\r\nContent-Type: \(mimeType)\r\n\r\n".utf8
        )
        body += audio
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        var headers = self.headers()
        headers.append((name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)"))
        headers.append((name: "Accept", value: "application/json"))
        let answer = try await call.exchange(
            ProviderHTTPRequest(url: baseURL + "/audio/transcriptions", headers: headers, body: body), as: Transcription.self
        )
        return answer.text
    }

    struct Transcription: Decodable {
        var text: String
    }
}
