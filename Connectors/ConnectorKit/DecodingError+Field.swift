/// Turns a decoding failure into the payload field it is about, for `malformed` errors.
extension DecodingError {
    /// The dotted path of the field at fault (`message.chat.id`, `photo[1].file_id`), or
    /// `nil` when the bytes are not JSON at all.
    public var fieldPath: String? {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: return nil
        }
        let text = JSONKey.path(path)
        return text.isEmpty ? nil : text
    }

    /// What went wrong, without any value from the payload.
    public var problem: String {
        switch self {
        case .keyNotFound: "is missing"
        case .typeMismatch, .valueNotFound: "has the wrong type"
        case .dataCorrupted: "is not valid"
        @unknown default: "is not valid"
        }
    }
}
