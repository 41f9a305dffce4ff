import Testing

@testable import SwitchboardProviders

@Suite("Server-sent event parser")
struct ServerSentEventParserTests {
    func events(_ chunks: [String]) throws -> [ServerSentEvent] {
        var parser = ServerSentEventParser()
        return try chunks.flatMap { try parser.feed(Array($0.utf8)) }
    }

    @Test("splits events at blank lines and keeps event names")
    func basic() throws {
        let parsed = try events(["event: ping\ndata: {}\n\ndata: one\n\n"])
        #expect(parsed == [ServerSentEvent(name: "ping", data: "{}"), ServerSentEvent(name: "", data: "one")])
    }

    @Test("joins data lines, drops comments and one leading space, and accepts CRLF and CR")
    func details() throws {
        let parsed = try events([": keep-alive\r\ndata:  two spaces\r\ndata:x\r\rdata: y\r\n\r\n"])
        #expect(parsed == [ServerSentEvent(name: "", data: " two spaces\nx"), ServerSentEvent(name: "", data: "y")])
    }

    @Test("does not care where chunks split, even inside a character or a CRLF")
    func chunking() throws {
        let text = "event: delta\r\ndata: {\"text\":\"Привет\"}\r\n\r\ndata: [DONE]\r\n\r\n"
        let whole = try events([text])
        let bytes = Array(text.utf8)
        for size in 1...7 {
            var parser = ServerSentEventParser()
            var parsed: [ServerSentEvent] = []
            for start in stride(from: 0, to: bytes.count, by: size) {
                parsed += try parser.feed(bytes[start..<min(start + size, bytes.count)])
            }
            #expect(parsed == whole)
        }
        #expect(whole.map(\.data) == [#"{"text":"Привет"}"#, "[DONE]"])
    }

    @Test("drops an event the body ended in the middle of")
    func unfinished() throws {
        #expect(try events(["data: complete\n\ndata: cut"]) == [ServerSentEvent(name: "", data: "complete")])
    }
}
