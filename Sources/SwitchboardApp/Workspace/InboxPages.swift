import Foundation
import HTTPTypes
public import Hummingbird
import Mustache
import NIOCore
import ServiceLifecycle
import SwitchboardCore
public import SwitchboardPostgres

/// The team's inbox, rendered by the server: `GET /app/inbox` (the list by view, channel and
/// search, with unread badges and the views' counts), `GET /app/conversations/{id}` (the
/// list beside the conversation: messages, delivery states, edits, the contact's side panel
/// and the actions), the fragments the page's script swaps when a live event arrives, and
/// `GET /app/events` (server-sent events of the signed-in person's tenant).
///
/// The routes are added to a group of `TenantRequestContext` that the caller mounts at
/// `/app` behind its session authentication; the actions are `fetch()` calls from `app.js`
/// to the `/v1` JSON routes with the session's CSRF token (from `<meta name="csrf-token">`).
/// No inline script or style: the pages' CSP is `default-src 'self'`.
public struct InboxPages: Sendable {
    let inbox: PostgresInboxStore
    let channels: PostgresChannelStore
    let live: LiveEvents
    let templates: MustacheLibrary
    /// The comment line that keeps an idle event stream open through proxies.
    let heartbeat: Duration

    static let templateNames = ["inbox", "inbox-list", "inbox-messages", "inbox-conversation"]
    /// Served at `/app/assets/<name>`.
    static let assets: [String: String] = [
        "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8", "account.js": "text/javascript; charset=utf-8",
    ]
    static let securityPolicy =
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    public init(inbox: PostgresInboxStore, channels: PostgresChannelStore, live: LiveEvents, heartbeat: Duration = .seconds(15)) {
        self.inbox = inbox
        self.channels = channels
        self.live = live
        self.heartbeat = heartbeat
        var library = MustacheLibrary()
        for name in Self.templateNames {
            guard let text = Self.resource(name, "mustache") else { continue }
            try? library.register(text, named: name)
        }
        templates = library
    }

    static func resource(_ name: String, _ ext: String) -> String? {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: name, withExtension: ext),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The script and style sheet, at `/app/assets/{name}`: public, cached for an hour.
    public static func addAssets<Context: RequestContext>(to router: Router<Context>) {
        var loaded: [String: (String, ByteBuffer)] = [:]
        for (name, type) in assets {
            let parts = name.split(separator: ".")
            if let text = resource(String(parts[0]), String(parts[1])) { loaded[name] = (type, ByteBuffer(string: text)) }
        }
        let files = loaded
        router.get("/app/assets/{name}") { _, context in
            guard let name = context.parameters.get("name"), let (type, body) = files[name] else {
                throw SwitchboardError.notFound("asset")
            }
            var headers = HTTPFields()
            headers[.contentType] = type
            headers[.cacheControl] = "public, max-age=3600"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
    }

    public func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/inbox") { request, context in
            let query = try ListQuery(request)
            return try await page(context, query: query, open: nil)
        }
        group.get("/inbox/list") { request, context in
            let query = try ListQuery(request)
            let open = request.uri.queryParameters["open"].flatMap { ConversationID(String($0)) }
            let list = try await listContext(context, query: query, open: open)
            return try html("inbox-list", list)
        }
        group.get("/conversations/{id}") { request, context in
            let query = try ListQuery(request)
            return try await page(context, query: query, open: try Self.conversationID(context))
        }
        group.get("/conversations/{id}/messages") { _, context in
            // Seen as it arrives: the open page counts as read.
            let messages = try await inbox.messages(context.tenantID, try Self.conversationID(context), viewer: context.principal.userID)
            return try html("inbox-messages", ["messages": messages.map(Self.message)])
        }
        group.get("/events") { _, context in
            try events(context)
        }
    }

    static func conversationID(_ context: TenantRequestContext) throws -> ConversationID {
        guard let raw = context.parameters.get("id"), let id = ConversationID(raw) else { throw SwitchboardError.notFound("conversation") }
        return id
    }

    // MARK: Pages

    struct ListQuery {
        var filter: InboxFilter
        var cursor: Cursor?
        var raw: [String: String]

        init(_ request: Request) throws {
            let parameters = request.uri.queryParameters
            var raw: [String: String] = [:]
            let viewName = parameters["view"].map(String.init) ?? "all"
            guard let view = InboxView(rawValue: viewName) else { throw SwitchboardError.invalid("unknown view", field: "view") }
            raw["view"] = viewName
            var channel: ChannelID?
            if let text = parameters["channel_id"].map(String.init), !text.isEmpty {
                guard let id = ChannelID(text) else { throw SwitchboardError(.notFound, "channel not found", field: "channel_id") }
                channel = id
                raw["channel_id"] = text
            }
            let search = parameters["q"].map(String.init)
            if let search, !search.isEmpty { raw["q"] = String(search.prefix(InboxFilter.maximumSearch)) }
            filter = InboxFilter(view: view, channelID: channel, search: search)
            if let text = parameters["cursor"].map(String.init), !text.isEmpty {
                guard let decoded = Cursor(encoded: text) else { throw SwitchboardError.invalid("cursor is not one this API issued", field: "cursor") }
                cursor = decoded
            }
            self.raw = raw
        }

        /// The query string of this list with `changes` applied (`nil` removes).
        func link(_ changes: [String: String?] = [:]) -> String {
            var values = raw
            for (key, value) in changes { values[key] = value }
            let items = values.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            var components = URLComponents()
            components.queryItems = items
            return components.percentEncodedQuery ?? ""
        }
    }

    func listContext(_ context: TenantRequestContext, query: ListQuery, open: ConversationID?) async throws -> [String: Any] {
        let tenant = context.tenantID
        let viewer = context.principal.userID
        if let channel = query.filter.channelID { _ = try await channels.get(tenant, channel) }
        let page = try await inbox.list(tenant, viewer: viewer, filter: query.filter, page: PageRequest(limit: 50, cursor: query.cursor))
        let suffix = query.link(["cursor": nil])
        let rows: [[String: Any]] = page.data.map { row in
            var item: [String: Any] = [
                "id": row.id.description, "contact": row.contactName ?? "Unknown", "channel": row.channelName, "kind": row.channelKind,
                "status": row.status, "mode": row.mode, "time": Self.time(row.lastMessageAt), "iso": Self.iso(row.lastMessageAt),
                "href": "/app/conversations/\(row.id)" + (suffix.isEmpty ? "" : "?" + suffix),
            ]
            item["title"] = row.title
            item["preview"] = row.preview
            item["outbound"] = row.previewDirection == "outbound"
            item["assignee"] = row.assigneeName
            item["human"] = row.mode == "human"
            item["closed"] = row.status == "closed"
            if row.unread > 0 { item["unread"] = row.unread >= PostgresInboxStore.unreadCap ? "99+" : String(row.unread) }
            item["open"] = row.id == open
            return item
        }
        var list: [String: Any] = ["rows": rows, "empty": rows.isEmpty, "searching": query.filter.search != nil]
        if let next = page.nextCursor { list["next"] = "/app/inbox?" + query.link(["cursor": next]) }
        list["listQuery"] = query.link(["cursor": nil])
        return list
    }

    func page(_ context: TenantRequestContext, query: ListQuery, open: ConversationID?) async throws -> Response {
        let tenant = context.tenantID
        let viewer = context.principal.userID
        var values = try await listContext(context, query: query, open: open)
        let counts = try await inbox.counts(tenant, viewer: viewer, channelID: query.filter.channelID)
        let labels: [(InboxView, String)] = [
            (.mine, "Mine"), (.unassigned, "Unassigned"), (.handedOff, "Handed off"), (.ai, "AI"), (.closed, "Closed"), (.all, "All"),
        ]
        values["views"] = labels.map { view, label in
            let count = counts[view] ?? 0
            return [
                "label": label, "view": view.rawValue, "href": "/app/inbox?" + query.link(["view": view.rawValue, "cursor": nil]),
                "count": count > PostgresInboxStore.countCap ? "\(PostgresInboxStore.countCap)+" : String(count),
                "current": view == query.filter.view,
            ] as [String: Any]
        }
        let channelList = try await channels.list(tenant, page: PageRequest(limit: 200))
        values["channels"] = channelList.data.map { channel in
            ["id": channel.id.description, "name": channel.name, "selected": channel.id == query.filter.channelID] as [String: Any]
        }
        values["view"] = query.filter.view.rawValue
        values["q"] = query.raw["q"] ?? ""
        values["csrf"] = context.principal.csrfToken ?? ""
        values["listQuery"] = query.link(["cursor": nil])
        if let open {
            let conversation = try await inbox.conversation(tenant, open, viewer: viewer)
            let teammates = try await inbox.teammates(tenant)
            values["conversation"] = Self.conversation(conversation, teammates: teammates)
            values["title"] = (conversation.contactName ?? "Conversation") + " · Inbox"
        } else {
            values["title"] = "Inbox"
        }
        return try html("inbox", values)
    }

    static func conversation(_ c: InboxConversation, teammates: [Teammate]) -> [String: Any] {
        var value: [String: Any] = [
            "id": c.id.description, "contactID": c.contactID.description, "contact": c.contactName ?? "Unknown",
            "channel": c.channelName, "kind": c.channelKind, "status": c.status, "mode": c.mode,
            "open": c.status == "open", "closed": c.status == "closed", "human": c.mode == "human", "ai": c.mode == "ai",
            "messages": c.messages.map(message),
            "tags": c.contactTags, "hasTags": !c.contactTags.isEmpty, "restricted": c.contactRestricted,
            "identities": c.identities.map { ["kind": $0.channelKind, "id": $0.externalID] },
            "consents": c.consents.map { ["purpose": $0.purpose, "granted": $0.granted, "at": time($0.recordedAt)] as [String: Any] },
            "deals": c.deals.map { deal -> [String: Any] in
                var item: [String: Any] = ["title": deal.title, "stage": deal.stage]
                if let amount = deal.amountMinor, let currency = deal.currency { item["amount"] = money(amount, currency) }
                return item
            },
            "notes": c.notes.map { ["body": $0.body, "at": time($0.createdAt)] },
            "teammates": teammates.map { person -> [String: Any] in
                ["id": person.id.description, "name": person.name ?? person.email, "role": person.role, "selected": person.id == c.assigneeID]
            },
            "unassigned": c.assigneeID == nil,
        ]
        value["title"] = c.title
        value["handoffReason"] = c.handoffReason
        value["assignee"] = c.assigneeName
        value["phone"] = c.contactPhone
        value["email"] = c.contactEmail
        value["username"] = c.contactUsername
        value["language"] = c.contactLanguage
        return value
    }

    struct Attachment: Decodable {
        var kind: String?
        var reference: String?
        var name: String?
        var mimeType: String?
        enum CodingKeys: String, CodingKey { case kind, reference, name, mimeType = "mime_type" }
    }

    static func message(_ m: InboxMessage) -> [String: Any] {
        let sender: String
        let senderLabel: String
        if m.direction == "inbound" {
            (sender, senderLabel) = ("customer", "Customer")
        } else if m.aiGenerated {
            (sender, senderLabel) = ("ai", "AI")
        } else if m.sentByUserID != nil {
            (sender, senderLabel) = ("person", m.sentByName ?? m.sentByEmail ?? "Teammate")
        } else {
            (sender, senderLabel) = ("person", "Teammate")
        }
        let attachments = (try? JSONDecoder().decode([Attachment].self, from: Data(m.attachmentsJSON.utf8))) ?? []
        var value: [String: Any] = [
            "id": m.id.description, "direction": m.direction, "sender": sender, "senderLabel": senderLabel,
            "isAI": sender == "ai", "time": time(m.createdAt), "iso": iso(m.createdAt),
            "attachments": attachments.prefix(20).map { a -> [String: Any] in
                var item: [String: Any] = ["label": a.name ?? a.kind ?? "attachment"]
                // Only web links become links: a platform's file id is shown, not followed.
                if let reference = a.reference, reference.hasPrefix("https://") || reference.hasPrefix("http://") {
                    item["href"] = reference
                } else {
                    item["reference"] = a.reference
                }
                return item
            },
            "edited": !m.edits.isEmpty || m.editedAt != nil,
            "edits": m.edits.map { ["text": $0.previousText ?? "", "at": $0.editedAt] },
        ]
        value["text"] = m.text
        value["delivery"] = m.deliveryStatus
        value["deliveryError"] = m.deliveryError
        value["failed"] = m.deliveryStatus == "failed" || m.replyStatus == "failed"
        value["replyStatus"] = m.replyStatus
        value["replyError"] = m.replyError
        value["withdrawn"] = m.deletedAt != nil
        value["tag"] = m.sendTag
        return value
    }

    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMM HH:mm"
        return formatter.string(from: date) + " UTC"
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func money(_ minor: Int64, _ currency: String) -> String {
        "\(minor / 100).\(String(format: "%02lld", minor % 100)) \(currency)"
    }

    func html(_ template: String, _ values: [String: Any]) throws -> Response {
        guard let rendered = templates.render(values, withTemplate: template) else {
            throw SwitchboardError(.internalError, "the \(template) page is missing from this build")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = Self.securityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: rendered)))
    }

    // MARK: Events

    /// `text/event-stream` of the principal's tenant: `retry: 2000`, then `event: <kind>` and
    /// `data: <json>` per event, and a comment every `heartbeat`. The first comment is sent
    /// once this process listens, so a client that read it misses nothing after it.
    func events(_ context: TenantRequestContext) throws -> Response {
        let events = try live.subscribe(context.tenantID)
        let live = self.live
        let heartbeat = self.heartbeat
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let body = ResponseBody { writer in
            let (merged, input) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(128))
            let forward = Task {
                for await event in events { input.yield("event: \(event.kind)\ndata: \(event.json)\n\n") }
                input.finish()
            }
            let beat = Task {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: heartbeat) } catch { return }
                    input.yield(": heartbeat\n\n")
                }
            }
            defer {
                forward.cancel()
                beat.cancel()
            }
            // The server's graceful shutdown ends the stream (the browser reconnects, to
            // another replica, after `retry`) rather than waiting for it.
            try await withGracefulShutdownHandler {
                await live.listening()
                try await writer.write(ByteBuffer(string: "retry: 2000\n: listening\n\n"))
                for await chunk in merged {
                    try await writer.write(ByteBuffer(string: chunk))
                }
            } onGracefulShutdown: {
                input.finish()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
