/// Inputs for property-style tests of parsers that read numbers and dates from outside.
public enum HostileText {
    /// Text a hostile platform or callback server may put where a number or a date belongs:
    /// huge, negative, NaN, infinities, exponents, other scripts' digits, overflowing
    /// integers, far-future and far-past HTTP dates, empty and blank.
    public static let corpus: [String] = [
        "", " ", "\t", "0", "-0", "+0", "-1", "1", "1.5", "  7  ", "007", "1e19", "1E19", "-1e19", "1e308", "1e309", "-1e309",
        "NaN", "nan", "-nan", "inf", "Inf", "-inf", "infinity", "0x1p62", "0x7fffffffffffffff", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551616", "99999999999999999999999999999999",
        String(repeating: "9", count: 400), "١٢٣", "１２３", "۳۶۰۰", "१२३", "12\u{0}", "1_000", "1,000", "3.6e3", ".5", "5.", "1e-400",
        "10000000000000", "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
        "Sat, 01 Jan 100000 00:00:00 GMT", "Wed, 31 Dec 292277026596 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "🙂", "\u{202E}123",
    ]
}
