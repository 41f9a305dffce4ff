import SwitchboardCore
import Testing

@Suite("Pages and cursors")
struct PageTests {
    @Test("a cursor survives its opaque encoding")
    func cursorRoundTrip() throws {
        let cursor = Cursor(sortKey: "1732406400000000", id: "6f1c0b52-7f43-4a55-9d6e-6b2c1d0e9a11")
        #expect(Cursor(encoded: cursor.encoded) == cursor)
        #expect(!cursor.encoded.contains("="))
    }

    @Test("limit must be 1 to 200 and cursors must be ours", arguments: ["0", "201", "-1", "ten", "1.5"])
    func badLimits(limit: String) {
        let error = #expect(throws: SwitchboardError.self) { try PageRequest.parse(limit: limit, cursor: nil) }
        #expect(error?.field == "limit")
    }

    @Test("a forged cursor is refused naming the cursor")
    func forgedCursor() {
        let error = #expect(throws: SwitchboardError.self) { try PageRequest.parse(limit: nil, cursor: "!!not-ours") }
        #expect(error?.field == "cursor")
        #expect(error?.code == .invalidRequest)
    }

    @Test("defaults are 50 and no cursor")
    func defaults() throws {
        let request = try PageRequest.parse(limit: nil, cursor: nil)
        #expect(request.limit == 50)
        #expect(request.cursor == nil)
    }
}
