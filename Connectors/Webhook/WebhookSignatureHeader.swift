/// The parts of `X-Switchboard-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`.
///
/// Several `v1` values let a sender sign with an old and a new secret while rotating; any
/// one matching passes. Unknown keys are skipped, so a future scheme can be added beside.
///
/// Rotation needs two values, three at most; anyone who knows a channel's URL can send a
/// header, so more than `maximumSignatures` are refused without checking any (the parser
/// keeps one past the limit, to tell "too many" from "enough").
struct WebhookSignatureHeader: Equatable {
    /// The most `v1` values a delivery may carry.
    static let maximumSignatures = 3

    /// The timestamp exactly as sent (it is part of the signed message).
    var timestamp: String
    var seconds: Int64
    /// Up to `maximumSignatures + 1` of the `v1` values, in order.
    var signatures: [String]

    /// Whether the header carries more `v1` values than a sender rotating a secret needs.
    var hasTooManySignatures: Bool { signatures.count > Self.maximumSignatures }

    /// `nil` when there is not exactly one numeric `t` or no `v1`.
    init?(_ value: String) {
        var timestamp: String?
        var signatures: [String] = []
        for element in value.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = element.trimmingSpaces()
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let key = pair[..<equals]
            let item = String(pair[pair.index(after: equals)...])
            switch key {
            case "t":
                guard timestamp == nil else { return nil }
                timestamp = item
            case "v1":
                if signatures.count <= Self.maximumSignatures { signatures.append(item) }
            default:
                continue
            }
        }
        guard let timestamp, (1...15).contains(timestamp.utf8.count),
            timestamp.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let seconds = Int64(timestamp),
            !signatures.isEmpty
        else { return nil }
        self.timestamp = timestamp
        self.seconds = seconds
        self.signatures = signatures
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result = result.dropFirst() }
        while result.last == " " || result.last == "\t" { result = result.dropLast() }
        return result
    }
}
