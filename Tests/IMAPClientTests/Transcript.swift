@testable import IMAPClient
import Synchronization

/// A recorded server side, served as the transport would: lines without CRLF and counted
/// bytes. Written with "\n" line ends for readability; `crlf` turns them into the wire form
/// (the last line gets its CRLF too).
final class Transcript: IMAPByteSource {
    private let state: Mutex<(bytes: [UInt8], index: Int)>

    init(wire: [UInt8]) {
        state = Mutex((wire, 0))
    }

    convenience init(_ text: String) {
        self.init(wire: Transcript.crlf(text) + [13, 10])
    }

    static func crlf(_ s: String) -> [UInt8] {
        Array(s.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)
    }

    var isDrained: Bool { state.withLock { $0.index >= $0.bytes.count } }

    func readLine(timeout: Duration?) async throws(IMAPError) -> [UInt8] {
        let result: [UInt8]? = state.withLock { state in
            var i = state.index
            while i + 1 < state.bytes.count {
                if state.bytes[i] == 13, state.bytes[i + 1] == 10 {
                    let line = Array(state.bytes[state.index..<i])
                    state.index = i + 2
                    return line
                }
                i += 1
            }
            return nil
        }
        guard let result else { throw IMAPError(.transport, "connection closed") }
        return result
    }

    func readExactly(_ count: Int) async throws(IMAPError) -> [UInt8] {
        let result: [UInt8]? = state.withLock { state in
            guard count <= state.bytes.count - state.index else { return nil }
            defer { state.index += count }
            return Array(state.bytes[state.index..<(state.index + count)])
        }
        guard let result else { throw IMAPError(.transport, "connection closed") }
        return result
    }

    /// Every response in the transcript, in order.
    func readAll(limits: IMAPLimits = IMAPLimits()) async throws(IMAPError) -> [IMAPResponse] {
        let reader = IMAPResponseReader(limits: limits)
        var out: [IMAPResponse] = []
        while !isDrained { out.append(try await reader.read(from: self)) }
        return out
    }
}
