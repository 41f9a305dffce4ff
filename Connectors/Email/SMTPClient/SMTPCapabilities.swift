/// What a server's EHLO reply offers: the extension keywords (upper-cased) with their
/// parameters. Only the few the client acts on are read: STARTTLS, AUTH, SIZE.
struct SMTPCapabilities: Sendable {
    private var extensions: [String: [String]] = [:]

    init(ehloReply: SMTPReply) {
        // The first line is the server's name and greeting, not an extension.
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(separator: " ").map(String.init)
            guard let keyword = words.first?.uppercased() else { continue }
            // Old servers wrote "AUTH=PLAIN LOGIN"; read it as AUTH.
            if keyword.hasPrefix("AUTH=") {
                extensions["AUTH", default: []] += [String(keyword.dropFirst(5))] + words.dropFirst().map { $0.uppercased() }
            } else {
                extensions[keyword, default: []] += words.dropFirst().map { $0.uppercased() }
            }
        }
    }

    func has(_ keyword: String) -> Bool { extensions[keyword] != nil }

    var authMechanisms: Set<String> { Set(extensions["AUTH"] ?? []) }

    /// SIZE's limit in bytes, when the server states one (0 means none).
    var sizeLimit: Int? { extensions["SIZE"]?.first.flatMap { Int($0) } }
}
