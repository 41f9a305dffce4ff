public import ConnectorKit
import Foundation

extension TelegramConnector {
    /// Reads one `Update`: messages and channel posts, their edits, and button presses
    /// become events; any other kind is one `.ignored` event named after its key.
    public func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        let update: TelegramUpdate
        do {
            update = try JSONDecoder().decode(TelegramUpdate.self, from: Data(delivery.body))
        } catch let error as DecodingError {
            guard let field = error.fieldPath else {
                throw ConnectorError(.malformed, "the update is not a JSON object, or a number in it is out of range")
            }
            throw ConnectorError(.malformed, "the update's \(field) \(error.problem)", field: field)
        } catch {
            throw ConnectorError(.malformed, "the update could not be read")
        }
        try Self.checkTextLengths(update)
        return [Self.event(for: update)]
    }

    /// Refuses texts longer than Telegram itself allows (4,096 characters of text, 1,024 of
    /// caption, 64 bytes of button data): see `TextLengthLimit`.
    static func checkTextLengths(_ update: TelegramUpdate) throws(ConnectorError) {
        let message: TelegramUpdate.Message
        let key: String
        switch update.payload {
        case .message(let m, _): (message, key) = (m, "message")
        case .editedMessage(let m, _): (message, key) = (m, "edited_message")
        case .channelPost(let m, _): (message, key) = (m, "channel_post")
        case .editedChannelPost(let m, _): (message, key) = (m, "edited_channel_post")
        case .callbackQuery(let query):
            if let data = query.data, data.utf8.count > 64 {
                throw ConnectorError(.malformed, "callback_query.data is longer than 64 bytes", field: "callback_query.data")
            }
            return
        case .other: return
        }
        try TextLengthLimit.messageText.check(message.text, field: "\(key).text")
        try TextLengthLimit.caption.check(message.caption, field: "\(key).caption")
    }

    static func event(for update: TelegramUpdate) -> InboundEvent {
        let eventID = String(update.updateID)
        switch update.payload {
        case .message(let message, let contentKeys):
            return event(eventID, message, kind: .message, source: "message", contentKeys: contentKeys)
        case .editedMessage(let message, let contentKeys):
            return event(eventID, message, kind: .edit, source: "edited_message", contentKeys: contentKeys)
        case .channelPost(let message, let contentKeys):
            return event(eventID, message, kind: .message, source: "channel_post", contentKeys: contentKeys)
        case .editedChannelPost(let message, let contentKeys):
            return event(eventID, message, kind: .edit, source: "edited_channel_post", contentKeys: contentKeys)
        case .callbackQuery(let query):
            return event(eventID, query)
        case .other(let key):
            return InboundEvent(kind: .ignored, eventID: eventID, ignoredReason: key ?? "empty_update")
        }
    }

    private static func event(
        _ eventID: String, _ message: TelegramUpdate.Message, kind: InboundEvent.Kind, source: String,
        contentKeys: [String]
    ) -> InboundEvent {
        let chat = inboundChat(message.chat)
        let sender = message.from.map(inboundSender) ?? inboundSender(message.senderChat ?? message.chat)
        let messageID = "\(message.chat.id):\(message.messageID)"
        let sentAt = PlatformTime.date(unixSeconds: Int64(kind == .edit ? message.editDate ?? message.date : message.date))
        let text = message.text ?? message.caption
        let attachments = attachments(message)
        guard text != nil || !attachments.isEmpty else {
            // A service message or content Switchboard does not read (poll, dice, new members).
            return InboundEvent(
                kind: .ignored, eventID: eventID, messageID: messageID, sender: sender, chat: chat, sentAt: sentAt,
                ignoredReason: "\(source):\(contentKeys.first ?? "empty")")
        }
        return InboundEvent(
            kind: kind, eventID: eventID, messageID: messageID, sender: sender, chat: chat, text: text,
            attachments: attachments, sentAt: sentAt)
    }

    /// A button press: the button's data is the text, and the event lands in the chat
    /// of the message the button belongs to. Its `messageID` is the press's own id
    /// (`callback:<id>`): the message with the button is the bot's own.
    private static func event(_ eventID: String, _ query: TelegramUpdate.CallbackQuery) -> InboundEvent {
        let sender = inboundSender(query.from)
        let chat =
            query.message.map { inboundChat($0.chat) }
            ?? InboundEvent.Chat(externalID: String(query.from.id), kind: .direct)
        guard let data = query.data else {
            return InboundEvent(
                kind: .ignored, eventID: eventID, messageID: "callback:\(query.id)", sender: sender, chat: chat,
                ignoredReason: "callback_query:game")
        }
        return InboundEvent(
            kind: .message, eventID: eventID, messageID: "callback:\(query.id)", sender: sender, chat: chat, text: data,
            attachments: [InboundEvent.Attachment(kind: "button", reference: data)])
    }

    private static func inboundSender(_ user: TelegramUpdate.User) -> InboundEvent.Sender {
        InboundEvent.Sender(
            externalID: String(user.id), name: fullName(user.firstName, user.lastName), username: user.username,
            languageCode: user.languageCode)
    }

    /// A channel speaking for itself (channel posts, anonymous group admins).
    private static func inboundSender(_ chat: TelegramUpdate.Chat) -> InboundEvent.Sender {
        let name = chat.title ?? chat.firstName.flatMap { fullName($0, chat.lastName) }
        return InboundEvent.Sender(externalID: String(chat.id), name: name, username: chat.username)
    }

    private static func inboundChat(_ chat: TelegramUpdate.Chat) -> InboundEvent.Chat {
        let kind: InboundEvent.Chat.Kind =
            switch chat.type {
            case "private": .direct
            case "channel": .channel
            default: .group  // group, supergroup
            }
        return InboundEvent.Chat(externalID: String(chat.id), kind: kind, title: chat.title)
    }

    /// `first last`, trimmed; `nil` when nothing is left.
    private static func fullName(_ first: String, _ last: String?) -> String? {
        let name = [first, last ?? ""].joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    private static func attachments(_ message: TelegramUpdate.Message) -> [InboundEvent.Attachment] {
        var result: [InboundEvent.Attachment] = []
        if let photo = largest(message.photo ?? []) {
            result.append(file("photo", photo, details: ["size", "width", "height"]))
        }
        // An animation also arrives as `document` (for old clients): read it once, as video.
        if let animation = message.animation {
            var attachment = file("video", animation, details: ["size", "width", "height", "duration"])
            attachment.details["variant"] = "animation"
            result.append(attachment)
        } else if let document = message.document {
            result.append(file("document", document, details: ["size"]))
        }
        if let voice = message.voice {
            result.append(file("voice", voice, details: ["size", "duration"]))
        }
        if let audio = message.audio {
            var attachment = file("audio", audio, details: ["size", "duration", "title", "performer"])
            attachment.name = audio.fileName ?? audio.title
            result.append(attachment)
        }
        if let video = message.video {
            result.append(file("video", video, details: ["size", "width", "height", "duration"]))
        }
        if let note = message.videoNote {
            var attachment = file("video", note, details: ["size", "duration", "length"])
            attachment.details["variant"] = "video_note"
            result.append(attachment)
        }
        if let sticker = message.sticker {
            var attachment = file("sticker", sticker, details: ["size", "width", "height", "set_name"])
            attachment.name = sticker.emoji
            result.append(attachment)
        }
        // A venue also arrives as `location`: the venue says more.
        if let venue = message.venue {
            var details = coordinates(venue.location)
            details["address"] = venue.address
            result.append(InboundEvent.Attachment(kind: "location", name: venue.title, details: details))
        } else if let location = message.location {
            result.append(InboundEvent.Attachment(kind: "location", details: coordinates(location)))
        }
        if let contact = message.contact {
            var details = ["phone": contact.phoneNumber]
            details["user_id"] = contact.userID.map { String($0) }
            result.append(
                InboundEvent.Attachment(
                    kind: "contact", name: fullName(contact.firstName, contact.lastName), details: details))
        }
        return result
    }

    /// The biggest of Telegram's sizes of one photo (by pixels, then bytes; the last of equals).
    private static func largest(_ sizes: [TelegramUpdate.File]) -> TelegramUpdate.File? {
        var best: TelegramUpdate.File?
        for size in sizes {
            guard let current = best else {
                best = size
                continue
            }
            if (pixels(size), size.fileSize ?? 0) >= (pixels(current), current.fileSize ?? 0) { best = size }
        }
        return best
    }

    /// Width × height, saturating: both come from the payload, and their product need not
    /// fit in 64 bits (a plain `*` trapped there and took the process down).
    private static func pixels(_ file: TelegramUpdate.File) -> Int64 {
        let width = file.width ?? 0
        let height = file.height ?? 0
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard overflow else { return area }
        return (width < 0) == (height < 0) ? .max : .min
    }

    private static func file(_ kind: String, _ file: TelegramUpdate.File, details names: [String]) -> InboundEvent.Attachment {
        var details: [String: String] = [:]
        for name in names {
            let value: String? =
                switch name {
                case "size": file.fileSize.map { String($0) }
                case "width": file.width.map { String($0) }
                case "height": file.height.map { String($0) }
                case "duration": file.duration.map { String($0) }
                case "length": file.length.map { String($0) }
                case "title": file.title
                case "performer": file.performer
                case "set_name": file.setName
                default: nil
                }
            details[name] = value
        }
        return InboundEvent.Attachment(kind: kind, reference: file.fileID, mimeType: file.mimeType, name: file.fileName, details: details)
    }

    private static func coordinates(_ location: TelegramUpdate.Location) -> [String: String] {
        ["latitude": String(location.latitude), "longitude": String(location.longitude)]
    }
}
