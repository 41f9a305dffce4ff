/// What `sendMessage` answers with: the message as sent (only its ids matter here).
struct TelegramSentMessage: Decodable {
    var messageID: Int64
    var chat: Chat

    struct Chat: Decodable {
        var id: Int64
    }

    enum CodingKeys: String, CodingKey {
        case chat
        case messageID = "message_id"
    }
}
