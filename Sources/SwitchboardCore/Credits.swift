/// An exact amount of credits, in micro-credits (1 credit = 1,000,000 micros).
///
/// Money is never a `Double`: every amount is an integer count of micros.
public struct Credits: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public static let microsPerCredit: Int64 = 1_000_000
    public static let zero = Credits(micros: 0)

    public let micros: Int64

    public init(micros: Int64) { self.micros = micros }

    public static func < (lhs: Credits, rhs: Credits) -> Bool { lhs.micros < rhs.micros }

    public init(from decoder: any Decoder) throws {
        self.micros = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(micros)
    }

    public var description: String { "\(micros) micros" }
}
