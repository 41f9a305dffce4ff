/// The Bot API's answer envelope: `{"ok": true, "result": …}` or
/// `{"ok": false, "error_code": 429, "description": "…", "parameters": {"retry_after": 7}}`.
struct TelegramBotAPIAnswer<Result: Decodable>: Decodable {
    var ok: Bool
    var result: Result?
    var errorCode: Int?
    var description: String?
    var parameters: Parameters?

    struct Parameters: Decodable {
        var retryAfter: Int?
        var migrateToChatID: Int64?

        enum CodingKeys: String, CodingKey {
            case retryAfter = "retry_after"
            case migrateToChatID = "migrate_to_chat_id"
        }
    }

    enum CodingKeys: String, CodingKey {
        case ok, result, description, parameters
        case errorCode = "error_code"
    }
}
