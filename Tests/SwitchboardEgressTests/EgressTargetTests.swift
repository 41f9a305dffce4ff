import SwitchboardEgress
import Testing

@Suite("Egress targets")
struct EgressTargetTests {
    @Test(
        "reads a CONNECT authority",
        arguments: [
            ("api.openai.com:443", "api.openai.com", 443), ("API.Example.COM:80", "api.example.com", 80),
            ("[::1]:8080", "::1", 8080), ("[0:0:0:0:0:ffff:7f00:1]:80", "0:0:0:0:0:ffff:7f00:1", 80),
            ("2130706433:80", "2130706433", 80), ("0251.0376.0251.0376:80", "0251.0376.0251.0376", 80),
        ])
    func authority(text: String, host: String, port: Int) throws {
        let target = try #require(EgressTarget(authority: text))
        #expect(target.host == host)
        #expect(target.port == port)
    }

    @Test(
        "refuses authorities that name no single host and port",
        arguments: ["", "example.com", "example.com:", "example.com:0", "example.com:65536", "example.com:99999999999999999999",
                    "::1:80", "[::1]", "[::1]80", ":80", "a b:80", "user@host:80", "host/path:80", "exa\u{0}mple.com:80", "éxample.com:80"])
    func badAuthority(text: String) {
        #expect(EgressTarget(authority: text) == nil)
    }

    @Test(
        "reads the host and port of a URL as AsyncHTTPClient would",
        arguments: [
            ("https://api.telegram.org", "api.telegram.org", 443), ("http://127.0.0.1:8081/bot", "127.0.0.1", 8081),
            ("HTTP://Crm.Example.KZ/in?x=1", "crm.example.kz", 80), ("http://[0:0:0:0:0:ffff:7f00:1]/", "0:0:0:0:0:ffff:7f00:1", 80),
            ("http://[::1]:9/in", "::1", 9), ("http://2130706433/", "2130706433", 80),
        ])
    func url(text: String, host: String, port: Int) throws {
        let target = try #require(EgressTarget(url: text))
        #expect(target.host == host)
        #expect(target.port == port)
    }

    @Test("refuses what is not an absolute http or https URL", arguments: ["ftp://example.com/", "/relative", "https://", "not a url"])
    func badURL(text: String) {
        #expect(EgressTarget(url: text) == nil)
    }
}
