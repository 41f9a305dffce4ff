public import ConnectorKit

extension TelegramConnector {
    /// Sends `message.text` with `sendMessage`, split into parts of at most 4096 UTF-16
    /// units sent in order; the receipt names each part as `<chat id>:<message id>`.
    ///
    /// When a later part fails, the earlier ones are already delivered: the error cannot
    /// say so (`ConnectorError` carries no partial receipt), and a retry sends them again.
    public func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt {
        guard let token = credentials["bot_token"], Self.isBotToken(token) else {
            throw ConnectorError(.credentialsRejected, "the channel has no usable bot_token", field: "bot_token")
        }
        guard !message.text.isEmpty else {
            throw ConnectorError(.sendFailed, "the message text is empty")
        }
        let chatID = SendMessageRequest.ChatID(message.chatExternalID)
        var externalIDs: [String] = []
        for part in TextSplitter.parts(of: message.text, maximumUTF16Length: Self.maximumTextLength) {
            let call = try await call(
                "sendMessage", body: SendMessageRequest(chatID: chatID, text: part), token: token, http: http,
                result: TelegramSentMessage.self)
            guard let sent = call.result else { throw call.failure }
            externalIDs.append("\(sent.chat.id):\(sent.messageID)")
        }
        return SendReceipt(externalIDs: externalIDs)
    }

    struct SendMessageRequest: Encodable {
        /// A numeric chat id is sent as a number, a channel's `@username` as a string.
        enum ChatID: Encodable {
            case number(Int64)
            case name(String)

            init(_ text: String) {
                self = Int64(text).map(ChatID.number) ?? .name(text)
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .number(let id): try container.encode(id)
                case .name(let name): try container.encode(name)
                }
            }
        }

        var chatID: ChatID
        var text: String

        enum CodingKeys: String, CodingKey {
            case text
            case chatID = "chat_id"
        }
    }
}

extension TelegramConnector {
    /// Answers a button press (`callback:<query id>`) with `answerCallbackQuery`, so the
    /// user's button stops spinning; other messages need nothing.
    public func acknowledge(
        messageID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) {
        guard needsAcknowledgement(messageID: messageID) else { return }
        guard let token = credentials["bot_token"], Self.isBotToken(token) else {
            throw ConnectorError(.credentialsRejected, "the channel has no usable bot_token", field: "bot_token")
        }
        let call = try await call(
            "answerCallbackQuery", body: AnswerCallbackQuery(callbackQueryID: String(messageID.dropFirst("callback:".count))),
            token: token, http: http, result: Bool.self)
        guard call.result != nil else { throw call.failure }
    }

    /// Only a pressed button waits for an answer.
    public func needsAcknowledgement(messageID: String) -> Bool {
        messageID.hasPrefix("callback:")
    }

    struct AnswerCallbackQuery: Encodable {
        var callbackQueryID: String
        enum CodingKeys: String, CodingKey { case callbackQueryID = "callback_query_id" }
    }
}
