/// Splits a long text into parts a messenger accepts, keeping every character.
///
/// Lengths count UTF-16 code units (how Telegram and WhatsApp measure). A part ends after
/// a newline when one falls in its second half, else after a space there, else at the last
/// whole character that fits; a character is never cut, nor a surrogate pair (only a single
/// character longer than the limit, a pathological run of combining marks, is cut between
/// its scalars). The parts concatenate to the original text exactly.
public enum TextSplitter {
    public static func parts(of text: String, maximumUTF16Length limit: Int) -> [String] {
        precondition(limit > 0)
        guard text.utf16.count > limit else { return [text] }
        var parts: [String] = []
        var rest = Substring(text)
        while rest.utf16.count > limit {
            let cut = cutIndex(in: rest, limit: limit)
            parts.append(String(rest[..<cut]))
            rest = rest[cut...]
        }
        if !rest.isEmpty { parts.append(String(rest)) }
        return parts
    }

    /// Where the first part of `text` ends: after at most `limit` UTF-16 units.
    private static func cutIndex(in text: Substring, limit: Int) -> Substring.Index {
        var length = 0
        var end = text.startIndex
        var afterNewline: Substring.Index?
        var afterSpace: Substring.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let width = character.utf16.count
            guard length + width <= limit else { break }
            length += width
            index = text.index(after: index)
            end = index
            if length * 2 >= limit {
                if character.isNewline {
                    afterNewline = index
                } else if character.isWhitespace {
                    afterSpace = index
                }
            }
        }
        if end == text.startIndex {
            // One character longer than the limit: cut between its scalars instead.
            return scalarCutIndex(in: text, limit: limit)
        }
        return afterNewline ?? afterSpace ?? end
    }

    private static func scalarCutIndex(in text: Substring, limit: Int) -> Substring.Index {
        var length = 0
        var index = text.unicodeScalars.startIndex
        while index < text.unicodeScalars.endIndex {
            let width = text.unicodeScalars[index].utf16.count
            guard length + width <= limit else { break }
            length += width
            index = text.unicodeScalars.index(after: index)
        }
        return index
    }
}
