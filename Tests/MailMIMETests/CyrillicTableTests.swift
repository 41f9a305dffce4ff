import Foundation
import Testing
@testable import MailMIME

/// The hand tables against Foundation's converters, byte by byte. Foundation on Linux
/// has both charsets, but KOI8-R only under the raw Darwin number (CF's conversion
/// functions are not public there), which is why the module does not depend on it.
@Suite struct CyrillicTableTests {
    /// kCFStringEncodingKOI8_R (0x0A02) as an NSStringEncoding.
    static let koi8r = String.Encoding(rawValue: 0x8000_0A02)

    @Test func koi8rMatchesFoundation() {
        for byte in UInt8(0x80)...UInt8(0xFF) {
            let ours = Charset.decode([byte], charset: "KOI8-R").text
            let foundation = String(data: Data([byte]), encoding: Self.koi8r)
            #expect(ours == foundation, "byte \(String(byte, radix: 16))")
        }
    }

    @Test func windows1251MatchesFoundation() {
        for byte in UInt8(0x80)...UInt8(0xFF) where byte != 0x98 {
            let ours = Charset.decode([byte], charset: "windows-1251").text
            let foundation = String(data: Data([byte]), encoding: .windowsCP1251)
            #expect(ours == foundation, "byte \(String(byte, radix: 16))")
        }
        // Unassigned in CP1251: Foundation passes it through as U+0098, we mark it.
        #expect(Charset.decode([0x98], charset: "cp1251").text == "\u{FFFD}")
    }
}
