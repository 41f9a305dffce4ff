import Foundation

/// One whole server response, literals included: what the session acts on. Only what the
/// client uses is modelled; anything else is `.other` and ignored, as RFC 3501 §7 asks of
/// clients (servers send untagged data at any time).
enum IMAPResponse: Equatable, Sendable {
    /// `+ text`: the server waits for the rest of a command (a literal, a SASL step, IDLE).
    case continuation(String)
    /// `A0001 OK/NO/BAD [code] text`: the end of command `tag`.
    case tagged(tag: String, IMAPStatus)
    /// `* ...`: data, or a status that belongs to no command (greeting, BYE, alerts).
    case untagged(IMAPUntagged)
}

/// OK / NO / BAD / BYE / PREAUTH with its optional response code and human text.
struct IMAPStatus: Equatable, Sendable {
    enum Condition: String, Sendable {
        case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH"
    }

    var condition: Condition
    var code: IMAPResponseCode?
    var text: String
}

/// The bracketed code of a status (RFC 3501 §7.1). The ones the client acts on are typed.
enum IMAPResponseCode: Equatable, Sendable {
    case uidValidity(UInt32)
    case uidNext(UInt32)
    case capability(Set<String>)
    /// RFC 5530 codes (AUTHENTICATIONFAILED, NONEXISTENT, ...) and everything else, uppercased
    /// atom only.
    case other(String)
}

/// Untagged data the client reads.
enum IMAPUntagged: Equatable, Sendable {
    case status(IMAPStatus)
    case capability(Set<String>)
    case exists(UInt32)
    case recent(UInt32)
    case expunge(UInt32)
    case search([UInt32])
    /// `* ESEARCH (TAG "A0003") UID ALL 1:5,9` (RFC 4731): the matches as ranges, so a
    /// large mailbox's answer stays one short line.
    case extendedSearch([ClosedRange<UInt32>])
    case fetch(sequence: UInt32, IMAPFetchAttributes)
    /// FLAGS, LIST, STATUS, vendor data: read in full (so the stream stays in step), then
    /// ignored. The name is kept for tests and diagnostics.
    case other(String)
}

/// The FETCH data items the client asks for. Anything else in the list (FLAGS, MODSEQ,
/// X-GM-LABELS, ...) is parsed for syntax and dropped.
struct IMAPFetchAttributes: Equatable, Sendable {
    var uid: UInt32?
    var size: Int?
    var internalDate: Date?
    /// `BODY[]`; nil when the response carried none (a flag update from another client).
    var body: [UInt8]?
    /// The `<n>` of `BODY[]<n>`: where the partial body starts.
    var bodyOrigin: UInt32?
    /// True when BODY[] was NIL (a message expunged meanwhile, on some servers).
    var bodyIsNil = false
}

extension IMAPUntagged {
    /// Roughly what keeping this costs in memory, for the per-command budget.
    var approximateBytes: Int {
        switch self {
        case let .fetch(_, attributes): 64 + (attributes.body?.count ?? 0)
        case let .search(numbers): 16 + numbers.count * 4
        case let .extendedSearch(ranges): 16 + ranges.count * 8
        case let .capability(set): 16 + set.reduce(0) { $0 + $1.utf8.count }
        case let .status(status): 32 + status.text.utf8.count
        default: 16
        }
    }
}
