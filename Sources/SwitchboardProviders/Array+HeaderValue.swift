extension [(name: String, value: String)] {
    /// The first value of a header, its name compared case-insensitively.
    func value(of name: String) -> String? {
        let name = name.lowercased()
        return first { $0.name.lowercased() == name }?.value
    }
}
