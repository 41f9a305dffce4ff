import Foundation

/// INTERNALDATE, `"17-Jul-1996 02:44:25 -0700"` (RFC 3501 §9 date-time), read by hand: no
/// locale or calendar object to get wrong, every field range-checked.
enum IMAPDate {
    private static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    static func parse(_ raw: [UInt8]) -> Date? {
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3 else { return nil }
        let dayMonthYear = parts[0].split(separator: "-")
        let time = parts[1].split(separator: ":")
        let zone = parts[2]
        guard dayMonthYear.count == 3, time.count == 3, zone.count == 5,
              let day = Int(dayMonthYear[0]), (1...31).contains(day),
              let monthIndex = months.firstIndex(of: dayMonthYear[1].uppercased()),
              dayMonthYear[2].count == 4, let year = Int(dayMonthYear[2]), (1900...9999).contains(year),
              let hour = Int(time[0]), (0...23).contains(hour),
              let minute = Int(time[1]), (0...59).contains(minute),
              let second = Int(time[2]), (0...60).contains(second),
              let sign = zone.first, sign == "+" || sign == "-",
              let zoneHours = Int(zone.dropFirst().prefix(2)), let zoneMinutes = Int(zone.suffix(2)),
              zoneHours <= 23, zoneMinutes <= 59
        else { return nil }
        let days = daysFromCivil(year: year, month: monthIndex + 1, day: day)
        let offset = (zoneHours * 3600 + zoneMinutes * 60) * (sign == "-" ? -1 : 1)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
