/// A UID list written compactly: `1:3,7,9:10`. Servers cap command lines (Dovecot at
/// 64 KB, Gmail lower), so a long list of single UIDs would be refused.
enum IMAPSequenceSet {
    static func compact(_ uids: [UInt32]) -> String {
        let sorted = Array(Set(uids)).sorted()
        var ranges: [String] = []
        var index = 0
        while index < sorted.count {
            let start = sorted[index]
            var end = start
            while index + 1 < sorted.count, end < UInt32.max, sorted[index + 1] == end + 1 {
                end += 1
                index += 1
            }
            ranges.append(start == end ? "\(start)" : "\(start):\(end)")
            index += 1
        }
        return ranges.joined(separator: ",")
    }
}
