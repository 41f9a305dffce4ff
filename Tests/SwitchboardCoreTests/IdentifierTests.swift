import Foundation
import SwitchboardCore
import Testing

@Suite("Identifiers")
struct IdentifierTests {
    @Test("ids print as lowercase UUIDs and parse back")
    func roundTrip() {
        let id = TenantID()
        #expect(id.description == id.description.lowercased())
        #expect(TenantID(id.description) == id)
    }

    @Test("a string that is not a UUID names nothing", arguments: ["", "42", "../etc/passwd", "6f1c0b52-7f43-4a55-9d6e"])
    func rejectsNonUUID(text: String) {
        #expect(TenantID(text) == nil)
    }

    @Test("credits encode as their integer micros")
    func creditsAreIntegers() throws {
        let data = try JSONEncoder().encode(Credits(micros: 1_500_000))
        #expect(String(decoding: data, as: UTF8.self) == "1500000")
    }
}
