import Wire
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about the director's interfaces: their MACs (sysfs) and IPv4
/// addresses with prefixes (getifaddrs), so the director can check its configuration and
/// find which interface reaches a real server. Read once at start.
enum HostInterfaces {
    struct IPv4Network: Equatable {
        var address: UInt32
        var mask: UInt32
        func contains(_ other: UInt32) -> Bool { other & mask == address & mask }
    }

    /// The interface's MAC from /sys/class/net/NAME/address (the namespace's own sysfs under
    /// `ip netns exec`); nil when the interface does not exist.
    static func mac(of interface: String) -> MACAddress? {
        guard let text = readFile("/sys/class/net/\(interface)/address") else { return nil }
        return MACAddress(text.trimmingWhitespace)
    }

    /// IPv4 addresses and masks assigned to `interface` in the kernel.
    static func ipv4Networks(of interface: String) -> [IPv4Network] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [IPv4Network] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let name = entry.pointee.ifa_name, String(cString: name) == interface,
                  let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  let mask = entry.pointee.ifa_netmask else { continue }
            // Safety: AF_INET entries point at sockaddr_in (getifaddrs(3)).
            let a = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            let m = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            out.append(IPv4Network(address: a, mask: m))
        }
        return out
    }

    /// An address of the director's on an interface, with its prefix: which real servers it
    /// reaches directly, and the sender address for ARP or neighbour solicitation.
    struct Network: Equatable {
        var address: IPAddress
        var prefixLength: Int
        func contains(_ other: IPAddress) -> Bool {
            other.isIPv4 == address.isIPv4
                && other.masked(prefixLength: prefixLength) == address.masked(prefixLength: prefixLength)
        }
    }

    /// The IPv4 and global IPv6 networks of `interface` (link-local IPv6 is left out: real
    /// servers are reached at their configured global addresses).
    static func networks(of interface: String) -> [Network] {
        var out = ipv4Networks(of: interface).map {
            Network(address: IPAddress(ipv4: $0.address), prefixLength: $0.mask.nonzeroBitCount)
        }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return out }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let name = entry.pointee.ifa_name, String(cString: name) == interface,
                  let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET6),
                  let mask = entry.pointee.ifa_netmask else { continue }
            // Safety: AF_INET6 entries point at sockaddr_in6 (getifaddrs(3)).
            let a = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Self.bytes($0.pointee.sin6_addr) }
            let m = mask.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Self.bytes($0.pointee.sin6_addr) }
            let ip = IPAddress(high: a[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: a[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
            guard a[0] != 0xfe || a[1] & 0xc0 != 0x80 else { continue }  // fe80::/10
            out.append(Network(address: ip, prefixLength: m.reduce(0) { $0 + $1.nonzeroBitCount }))
        }
        return out
    }

    private static func bytes(_ address: in6_addr) -> [UInt8] {
        withUnsafeBytes(of: address) { Array($0) }
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `value` to a /proc/sys file; nil on success, else the errno.
    static func writeFile(_ path: String, _ value: String) -> Int32? {
        guard let file = fopen(path, "w") else { return errno }
        defer { fclose(file) }
        guard fputs(value, file) >= 0, fflush(file) == 0 else { return errno }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
