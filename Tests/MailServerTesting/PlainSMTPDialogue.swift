import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The few lines of SMTP another mail server would speak to the MX port, over a blocking
/// loopback socket: enough to put a test message into a mailbox without the SMTP client
/// under test (so a broken client cannot hide behind its own fixture).
enum PlainSMTPDialogue {
    static func deliver(_ message: [UInt8], from sender: String, to recipient: String, port: Int) throws {
        let socket = try connect(port: port)
        defer { close(socket) }
        var reader = ReplyReader(socket: socket)
        try reader.expect(220)
        try send(socket, "EHLO tests.switchboard.test\r\n")
        try reader.expect(250)
        try send(socket, "MAIL FROM:<\(sender)>\r\n")
        try reader.expect(250)
        try send(socket, "RCPT TO:<\(recipient)>\r\n")
        try reader.expect(250)
        try send(socket, "DATA\r\n")
        try reader.expect(354)
        try sendAll(socket, dotStuffed(message))
        try reader.expect(250)
        try send(socket, "QUIT\r\n")
    }

    /// Leading dots doubled, CRLF ensured at the end, then the lone dot.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 64)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !out.isEmpty && !atLineStart { out += Array("\r\n".utf8) }
        out += Array(".\r\n".utf8)
        return out
    }

    private static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestMailServersError(message: "socket() failed: errno \(errno)") }
        // Every read and write is bounded: a stuck server fails the test, not hangs it.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(socket)
            throw TestMailServersError(message: "could not connect to the MX port \(port): errno \(errno)")
        }
        return socket
    }

    private static func send(_ socket: Int32, _ line: String) throws {
        try sendAll(socket, Array(line.utf8))
    }

    private static func sendAll(_ socket: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestMailServersError(message: "send to the MX port failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads whole replies, multi-line ones included, and checks their code.
    private struct ReplyReader {
        let socket: Int32
        var pending: [UInt8] = []

        mutating func expect(_ code: Int) throws {
            while true {
                let line = try readLine()
                guard line.count >= 3, let got = Int(line.prefix(3)) else {
                    throw TestMailServersError(message: "the MX port answered \"\(line)\"")
                }
                guard got == code else {
                    throw TestMailServersError(message: "the MX port answered \"\(line)\", not \(code)")
                }
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return }
            }
        }

        private mutating func readLine() throws -> String {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[..<newline].filter { $0 != UInt8(ascii: "\r") }
                    pending.removeSubrange(...newline)
                    return String(decoding: line, as: UTF8.self)
                }
                guard pending.count < 64 * 1024 else { throw TestMailServersError(message: "the MX port sent an endless line") }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw TestMailServersError(message: "the MX port closed or timed out: errno \(errno)") }
                pending += chunk[..<count]
            }
        }
    }
}
