/// How the fuzzer's bytes become a delivery: `<mode><header line>\n<body>`.
///
/// The first byte picks what the signature header holds: `s` a correct signature of the
/// body by the channel's secret (with the rest of the line appended, for the generic
/// webhook's several-candidate header), `n` no header at all, anything else the rest of
/// the line as the header's value, byte for byte. Everything after the first line feed is
/// the body. So one input reaches both sides: a signed body goes through `verify` into
/// `parse`, and a free header line exercises the header parsers.
struct FuzzInput {
    enum Mode {
        case signed
        case missing
        case raw
    }

    var mode: Mode
    /// The first line without the mode byte.
    var headerLine: [UInt8]
    var body: [UInt8]

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        switch bytes.first {
        case UInt8(ascii: "s"): mode = .signed
        case UInt8(ascii: "n"): mode = .missing
        default: mode = .raw
        }
        headerLine = bytes.isEmpty ? [] : Array(bytes[1..<max(1, newline)])
        body = newline < bytes.endIndex ? Array(bytes[(newline + 1)...]) : []
    }
}
