/// One server-sent event: its `event:` name (empty when the stream gave none) and its
/// `data:` lines joined with newlines.
struct ServerSentEvent: Sendable, Hashable {
    var name: String
    var data: String
}

/// Splits a `text/event-stream` body into events, chunk by chunk, whatever the chunk
/// boundaries (inside a line, inside a UTF-8 character, between `\r` and `\n`).
///
/// Follows the WHATWG rules that matter here: lines end with `\n`, `\r\n` or `\r`; a blank
/// line dispatches the event; `:` lines are comments; one space after the colon is dropped;
/// an event still open when the body ends is discarded.
struct ServerSentEventParser {
    /// A line longer than this (1 MiB) makes ``feed(_:)`` fail rather than buffer forever.
    static let maximumLineLength = 1 << 20

    struct LineTooLong: Error {}

    private var line: [UInt8] = []
    private var skipNextLineFeed = false
    private var name = ""
    private var data: [String] = []
    private var hasData = false

    /// The events the chunk completes.
    mutating func feed(_ chunk: some Sequence<UInt8>) throws(LineTooLong) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in chunk {
            if skipNextLineFeed {
                skipNextLineFeed = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                skipNextLineFeed = byte == UInt8(ascii: "\r")
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
                if line.count > Self.maximumLineLength { throw LineTooLong() }
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            defer {
                name = ""
                data = []
                hasData = false
            }
            return hasData ? ServerSentEvent(name: name, data: data.joined(separator: "\n")) : nil
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let field: String
        let value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var start = line.index(after: colon)
            if start < line.endIndex, line[start] == UInt8(ascii: " ") { start = line.index(after: start) }
            value = String(decoding: line[start...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "event": name = value
        case "data":
            data.append(value)
            hasData = true
        default: break
        }
        return nil
    }
}
