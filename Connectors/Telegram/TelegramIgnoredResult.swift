/// Any JSON value, read and dropped (`getMe`'s and `setWebhook`'s results).
struct TelegramIgnoredResult: Decodable {
    init(from decoder: any Decoder) throws {}
}
