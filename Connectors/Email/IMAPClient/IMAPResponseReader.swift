/// Frames one response off the wire and hands it to `IMAPResponseParser`. A line ending in
/// `{n}` or `{n+}` announces a literal: n bytes follow, then the rest of the response on
/// further lines (how imaplib and most clients frame it). The size is checked against the
/// bound before a byte of it is read, so a `{99999999999}` costs nothing but the error.
struct IMAPResponseReader: Sendable {
    var limits: IMAPLimits

    init(limits: IMAPLimits = IMAPLimits()) {
        self.limits = limits
    }

    /// Reads one response. `firstLineTimeout` bounds the wait for it to start (IDLE); once
    /// it has started, the rest comes under the transport's own read timeout.
    func read(from source: some IMAPByteSource, firstLineTimeout: Duration? = nil) async throws(IMAPError) -> IMAPResponse {
        var framed: [UInt8] = []
        var literals = 0
        while true {
            let line = try await source.readLine(timeout: literals == 0 ? firstLineTimeout : nil)
            framed.append(contentsOf: line)
            guard let count = try announcedLiteral(in: line) else { break }
            literals += 1
            guard literals <= limits.literalsPerResponse else {
                throw IMAPError(.tooLarge, "more than \(limits.literalsPerResponse) literals in one response")
            }
            framed.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
            framed.append(contentsOf: try await source.readExactly(count))
        }
        return try IMAPResponseParser.parse(framed, limits: limits)
    }

    /// The size of the literal a line ends with, if it ends with one. Refused (before any
    /// allocation) when over the bound or too long to be a number.
    func announcedLiteral(in line: [UInt8]) throws(IMAPError) -> Int? {
        guard line.last == UInt8(ascii: "}") else { return nil }
        var index = line.count - 2
        if index >= 0, line[index] == UInt8(ascii: "+") { index -= 1 }
        let digitsEnd = index
        while index >= 0, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") { index -= 1 }
        guard index >= 0, line[index] == UInt8(ascii: "{"), digitsEnd > index else { return nil }
        let digits = line[(index + 1)...digitsEnd]
        guard digits.count <= 12 else { throw IMAPError(.tooLarge, "literal size out of range") }
        var value = 0
        for digit in digits { value = value * 10 + Int(digit - UInt8(ascii: "0")) }
        guard value <= limits.literalBytes else {
            throw IMAPError(.tooLarge, "literal of \(value) bytes is over the limit of \(limits.literalBytes)")
        }
        return value
    }
}
