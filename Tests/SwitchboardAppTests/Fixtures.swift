import Foundation
import Testing

/// A fixture's bytes, exactly as a messenger would send them.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
    return Array(try Data(contentsOf: url))
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
