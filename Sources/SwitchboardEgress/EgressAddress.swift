#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Classifies numeric IP addresses for the egress check.
///
/// IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, the deprecated
/// IPv4-compatible `::a.b.c.d`, and NAT64 `64:ff9b::/96`) are judged by that IPv4 address,
/// so `::ffff:127.0.0.1` is loopback.
public enum EgressAddress {
    /// The scope of a numeric IPv4 or IPv6 address (`"10.0.0.1"`, `"::1"`, `"[fe80::1%eth0]"`),
    /// or `nil` when the text is not a numeric address (a host name).
    public static func scope(of address: String) -> AddressScope? {
        bytes(of: address).map(scope(ofBytes:))
    }

    /// The 4 or 16 bytes of a numeric address (parsed by `inet_pton`), or `nil`.
    static func bytes(of address: String) -> [UInt8]? {
        var text = address
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// The scope of a 4-byte IPv4 or 16-byte IPv6 address in network order.
    static func scope(ofBytes bytes: [UInt8]) -> AddressScope {
        bytes.count == 4 ? scope(ipv4: bytes) : scope(ipv6: bytes)
    }

    static func scope(ipv4 b: [UInt8]) -> AddressScope {
        switch (b[0], b[1]) {
        case (0, _): .unspecified
        case (127, _): .loopback
        case (10, _), (172, 16...31), (192, 168), (100, 64...127): .privateNetwork
        case (169, 254): .linkLocal
        case (224...239, _): .multicast
        case (240...255, _): .reserved
        default: .global
        }
    }

    static func scope(ipv6 b: [UInt8]) -> AddressScope {
        let firstTen = b[0..<10].allSatisfy { $0 == 0 }
        if firstTen, b[10] == 0xFF, b[11] == 0xFF {
            return scope(ipv4: Array(b[12..<16]))  // IPv4-mapped
        }
        if b[0..<12].allSatisfy({ $0 == 0 }) {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 0 { return .unspecified }
                if b[15] == 1 { return .loopback }
            }
            return scope(ipv4: Array(b[12..<16]))  // IPv4-compatible (deprecated)
        }
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xFF, b[3] == 0x9B, b[4..<12].allSatisfy({ $0 == 0 }) {
            return scope(ipv4: Array(b[12..<16]))  // NAT64 well-known prefix
        }
        switch b[0] {
        case 0xFF: return .multicast
        case 0xFC, 0xFD: return .uniqueLocal
        case 0xFE where b[1] & 0xC0 == 0x80: return .linkLocal
        case 0xFE where b[1] & 0xC0 == 0xC0: return .uniqueLocal  // site-local, deprecated
        default: return .global
        }
    }

    /// Text for a 4- or 16-byte address, for messages.
    static func text(ofBytes bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The numeric text of every stream address `getaddrinfo` gives for `host` (which may
    /// itself be any numeric form the system reads). Blocking: call it off the event loops
    /// and the cooperative pool.
    static func resolve(_ host: String) throws(EgressResolutionError) -> [String] {
        guard !host.isEmpty, !host.utf8.contains(0) else { throw EgressResolutionError(host: host) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else { throw EgressResolutionError(host: host) }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = list
        while let entry = next {
            if let address = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    var v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(text(ofBytes: withUnsafeBytes(of: &v4) { Array($0) }))
                case AF_INET6:
                    var v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(text(ofBytes: withUnsafeBytes(of: &v6) { Array($0) }))
                default:
                    break
                }
            }
            next = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw EgressResolutionError(host: host) }
        return addresses
    }

    /// A socket listening on `127.0.0.1` and an ephemeral port, opened synchronously; its
    /// descriptor and port.
    static func openLoopbackListener() throws(EgressGateError) -> (handle: CInt, port: Int) {
        #if canImport(Glibc)
        let handle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let handle = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard handle >= 0 else { throw EgressGateError("could not open a socket (errno \(errno))") }
        _ = fcntl(handle, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(handle, raw, length) == 0 && listen(handle, 256) == 0 && getsockname(handle, raw, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(handle)
            throw EgressGateError("could not listen on 127.0.0.1 (errno \(code))")
        }
        return (handle, Int(UInt16(bigEndian: address.sin_port)))
    }
}
