import Foundation
import Testing

/// A fixture's bytes, exactly as a messenger would send them.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
    return Array(try Data(contentsOf: url))
}

/// A WhatsApp fixture sent at `time`: its messages' and statuses' platform timestamps moved
/// there (the messaging window runs from them, on the test's clock).
func whatsappFixture(_ name: String, at time: Date) throws -> [UInt8] {
    let text = String(decoding: try fixture(name), as: UTF8.self)
    let moved = text.replacingOccurrences(
        of: #""timestamp": "17639004[0-9]{2}""#, with: "\"timestamp\": \"\(Int(time.timeIntervalSince1970))\"", options: .regularExpression
    )
    return Array(moved.utf8)
}

/// A Telegram update with a fresh update_id and message text, built like the fixture.
func telegramUpdate(
    updateID: Int, userID: Int = 520011223, chatID: Int? = nil, messageID: Int = 17, text: String, name: String = "Айгерим",
    chatType: String = "private"
) -> [UInt8] {
    let object: [String: Any] = [
        "update_id": updateID,
        "message": [
            "message_id": messageID, "date": 1_763_900_000,
            "from": ["id": userID, "is_bot": false, "first_name": name],
            "chat": ["id": chatID ?? userID, "first_name": name, "title": "Shop group", "type": chatType],
            "text": text,
        ] as [String: Any],
    ]
    return Array(try! JSONSerialization.data(withJSONObject: object))
}
