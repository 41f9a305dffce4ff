import NIOCore
import Testing

@testable import SwitchboardEgress

@Suite("Egress address classification")
struct EgressAddressTests {
    @Test(
        "classifies numeric addresses",
        arguments: [
            ("8.8.8.8", AddressScope.global), ("1.1.1.1", .global), ("172.32.0.1", .global), ("100.128.0.1", .global),
            ("127.0.0.1", .loopback), ("127.255.255.254", .loopback), ("10.1.2.3", .privateNetwork),
            ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork), ("192.168.1.1", .privateNetwork),
            ("100.64.0.1", .privateNetwork), ("100.127.255.255", .privateNetwork), ("169.254.169.254", .linkLocal),
            ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("224.0.0.1", .multicast), ("255.255.255.255", .reserved),
            ("2606:4700:4700::1111", .global), ("2001:db8::1", .global), ("::1", .loopback), ("::", .unspecified),
            ("fe80::1", .linkLocal), ("[fe80::1%eth0]", .linkLocal), ("febf::1", .linkLocal), ("fc00::1", .uniqueLocal),
            ("fd12:3456::1", .uniqueLocal), ("ff02::1", .multicast), ("::ffff:127.0.0.1", .loopback),
            ("::ffff:10.0.0.1", .privateNetwork), ("::ffff:169.254.169.254", .linkLocal), ("::ffff:8.8.8.8", .global),
            ("::ffff:7f00:1", .loopback), ("::127.0.0.1", .loopback), ("64:ff9b::192.168.0.1", .privateNetwork),
            ("64:ff9b::8.8.8.8", .global), ("[::1]", .loopback),
        ])
    func classification(address: String, scope: AddressScope) {
        #expect(EgressAddress.scope(of: address) == scope)
    }

    @Test(
        "does not take host names or junk for addresses",
        arguments: ["example.com", "localhost", "1.2.3", "1.2.3.4.5", "::g", ""])
    func notNumeric(text: String) {
        #expect(EgressAddress.scope(of: text) == nil)
    }

    @Test("getaddrinfo reads every numeric form as the address it is, and names through the system")
    func resolves() throws {
        let cases: [(String, String, AddressScope)] = [
            ("2130706433", "127.0.0.1", .loopback), ("0", "0.0.0.0", .unspecified), ("127.1", "127.0.0.1", .loopback),
            ("0251.0376.0251.0376", "169.254.169.254", .linkLocal), ("0x7f.1", "127.0.0.1", .loopback),
            ("0:0:0:0:0:ffff:7f00:1", "::ffff:127.0.0.1", .loopback), ("localhost", "127.0.0.1", .loopback),
        ]
        for (host, address, scope) in cases {
            let resolved = try GetaddrinfoResolver.resolve(host, port: 8080)
            #expect(resolved.contains { $0.ipAddress == address } || scope == .loopback && host == "localhost", "\(host): \(resolved)")
            #expect(resolved.allSatisfy { EgressAddress.scope(of: $0) == scope }, "\(host)")
            #expect(resolved.allSatisfy { $0.port == 8080 })
        }
    }

    @Test("a host with no address, or a port out of range, is an error, not a trap", arguments: ["", "no-such-host.invalid", "a\u{0}b"])
    func unresolvable(host: String) {
        #expect(throws: EgressResolutionError.self) { try GetaddrinfoResolver.resolve(host, port: 80) }
        #expect(throws: EgressResolutionError.self) { try GetaddrinfoResolver.resolve("127.0.0.1", port: 70_000) }
    }
}
