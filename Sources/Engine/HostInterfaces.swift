import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The host's side of the director's interfaces: the networks its addresses define (which real
/// servers an interface reaches directly) and the /proc/sys files lvsd reads and writes. The
/// interfaces themselves come from the kernel over rtnetlink (`KernelInterfaces`).
public enum HostInterfaces {
    /// An address of the director's on an interface, with its prefix: which real servers it
    /// reaches directly, and the sender address for ARP or neighbour solicitation.
    public struct Network: Hashable, Sendable {
        public var address: IPAddress
        public var prefixLength: Int
        public init(address: IPAddress, prefixLength: Int) {
            self.address = address
            self.prefixLength = prefixLength
        }
        public func contains(_ other: IPAddress) -> Bool {
            other.isIPv4 == address.isIPv4
                && other.masked(prefixLength: prefixLength) == address.masked(prefixLength: prefixLength)
        }
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

extension HostInterfaces.Network: CustomStringConvertible {
    /// `198.18.0.5/24`, `2001:db8::5/64`.
    public var description: String { "\(address)/\(prefixLength)" }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
