/// One entity of the MIME tree: the message itself or a body part (RFC 2045/2046).
struct MIMEEntity: Sendable {
    let headers: MailHeaders
    let contentType: HeaderParameters
    let disposition: HeaderParameters?
    enum Body: Sendable {
        /// `size`: the decoded size, also when the bytes were not decoded (see
        /// `MailLimits.decodesAttachments`).
        case leaf(bytes: [UInt8], size: Int, text: String?)
        case multipart([MIMEEntity])
    }
    let body: Body

    var mediaType: String { contentType.value }

    var isAttachment: Bool {
        if disposition?.value == "attachment" { return true }
        guard case .leaf = body else { return false }
        return !mediaType.hasPrefix("text/")
    }

    /// The text of this entity and whether it came from HTML (see `MailMessage.text`).
    func bodyText() -> (text: String, fromHTML: Bool)? {
        switch body {
        case .leaf(_, _, let text):
            guard !isAttachment, let text else { return nil }
            if mediaType == "text/html" { return (HTMLText.plainText(text), true) }
            if mediaType == "text/plain" || mediaType.isEmpty { return (normalizeLineBreaks(text), false) }
            return nil
        case .multipart(let parts):
            let texts = parts.compactMap { $0.bodyText() }
            if mediaType == "multipart/alternative" {
                return texts.first { !$0.fromHTML } ?? texts.first
            }
            guard !texts.isEmpty else { return nil }
            return (texts.map(\.text).joined(separator: "\n\n"), texts.contains { $0.fromHTML })
        }
    }

    func attachments() -> [MailAttachment] {
        switch body {
        case .multipart(let parts):
            return parts.flatMap { $0.attachments() }
        case .leaf(let bytes, let size, _):
            guard isAttachment else { return [] }
            let rawName = disposition?["filename"] ?? contentType["name"]
            let filename = rawName.map { EncodedWords.decode($0).text }
            let contentID = headers.first("Content-ID").flatMap { MessageIDs.parse($0, limit: 1).first }
            return [MailAttachment(
                filename: filename, contentType: mediaType.isEmpty ? "application/octet-stream" : mediaType,
                isInline: disposition?.value == "inline", contentID: contentID, content: bytes, size: size
            )]
        }
    }

    func normalizeLineBreaks(_ s: String) -> String {
        // `contains("\r")` would miss "\r\n", which is one Character: look at the scalars.
        guard s.unicodeScalars.contains("\r") else { return s }
        // "\r\n" is one Character in Swift: splitting on either form handles both.
        return s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r\n" || $0 == "\r" || $0 == "\n" })
            .joined(separator: "\n")
    }
}

/// Reads the tree, counting parts and depth against the limits across the whole message.
struct EntityReader {
    let limits: MailLimits
    var parts = 0
    var warnings: [String] = []
    var usedCharsetFallback = false

    init(limits: MailLimits) { self.limits = limits }

    mutating func read(_ bytes: ArraySlice<UInt8>, depth: Int, defaultType: String = "text/plain") throws(MailError) -> MIMEEntity {
        let (headers, bodyStart) = try MailHeaders.parse(bytes, limits: limits)
        var contentType = HeaderParameters(headers.first("Content-Type") ?? defaultType)
        if !contentType.value.contains("/") { contentType = HeaderParameters(defaultType) }
        let disposition = headers.first("Content-Disposition").map(HeaderParameters.init)
        let body = bytes[min(bodyStart, bytes.endIndex)...]

        if contentType.value.hasPrefix("multipart/") {
            guard let boundary = contentType["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
                warnings.append("\(contentType.value) without a usable boundary: read as text")
                return try leaf(headers, HeaderParameters("text/plain"), disposition, body)
            }
            guard depth < limits.depth else {
                throw MailError(.tooComplex, "multipart nested deeper than \(limits.depth) levels")
            }
            let childDefault = contentType.value == "multipart/digest" ? "message/rfc822" : "text/plain"
            var children: [MIMEEntity] = []
            for part in split(body, boundary: Array(boundary.utf8)) {
                parts += 1
                guard parts <= limits.parts else {
                    throw MailError(.tooComplex, "more than \(limits.parts) body parts")
                }
                children.append(try read(part, depth: depth + 1, defaultType: childDefault))
            }
            return MIMEEntity(headers: headers, contentType: contentType, disposition: disposition, body: .multipart(children))
        }
        return try leaf(headers, contentType, disposition, body)
    }

    mutating func leaf(
        _ headers: MailHeaders, _ contentType: HeaderParameters, _ disposition: HeaderParameters?, _ body: ArraySlice<UInt8>
    ) throws(MailError) -> MIMEEntity {
        let isText = contentType.value.hasPrefix("text/") || contentType.value.isEmpty
        let encoding = headers.first("Content-Transfer-Encoding")
        if !isText && !limits.decodesAttachments {
            // Only the file's name, type and size are wanted: its size from the encoded
            // length, without decoding it.
            let size = TransferEncoding.decodedSize(body, encoding: encoding)
            return MIMEEntity(headers: headers, contentType: contentType, disposition: disposition, body: .leaf(bytes: [], size: size, text: nil))
        }
        let decoded = TransferEncoding.decode(body, encoding: encoding)
        if let warning = decoded.warning { warnings.append(warning) }
        var text: String?
        if isText {
            let result = Charset.decode(decoded.bytes, charset: contentType["charset"])
            if !result.known {
                usedCharsetFallback = true
                warnings.append("unknown charset '\((contentType["charset"] ?? "").prefix(40))': read as UTF-8")
            }
            text = result.text
        }
        return MIMEEntity(
            headers: headers, contentType: contentType, disposition: disposition, body: .leaf(bytes: decoded.bytes, size: decoded.bytes.count, text: text)
        )
    }

    /// The parts between `--boundary` lines (RFC 2046 §5.1.1); the line break before a
    /// boundary line belongs to it. A missing close delimiter ends the last part at the end
    /// of the body, with a warning.
    mutating func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--".utf8) + boundary
        var result: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var i = body.startIndex
        var closed = false
        while i < body.endIndex {
            var lineEnd = i
            while lineEnd < body.endIndex, body[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if lineEnd - i >= delimiter.count, body[i..<(i + delimiter.count)].elementsEqual(delimiter) {
                let after = i + delimiter.count
                let isClose = after + 1 < body.endIndex && body[after] == UInt8(ascii: "-") && body[after + 1] == UInt8(ascii: "-")
                if let start = partStart {
                    var end = i
                    if end > start, body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
                    if end > start, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    result.append(body[start..<max(start, end)])
                    if result.count > limits.parts { return result }
                }
                if isClose {
                    closed = true
                    partStart = nil
                    break
                }
                partStart = min(lineEnd + 1, body.endIndex)
            }
            i = lineEnd + 1
        }
        if !closed {
            warnings.append("multipart without its closing boundary")
            if let start = partStart, start < body.endIndex { result.append(body[start...]) }
        }
        return result
    }
}
