public import HTTPTypes

extension HTTPField.Name {
    /// `X-Telegram-Bot-Api-Secret-Token`: the channel's secret, sent by Telegram with
    /// every webhook delivery.
    public static let telegramSecretToken = HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!
}
