/// The virtual ports the FTP helper serves: ip_vs_ftp's `ports=` module parameter (default
/// 21, at most `IP_VS_APP_MAX_PORTS` = 8, net/netfilter/ipvs/ip_vs_ftp.c). A NAT or FullNAT
/// TCP service on one of these ports has its control connections watched. Stored inline, so
/// the data path reads it without a reference count.
public struct FTPPorts: Hashable, Sendable, CustomStringConvertible {
    /// IPVS's `IP_VS_APP_MAX_PORTS`.
    public static let maximumCount = 8
    public static let standard = FTPPorts([21])!
    /// No port: the helper is off.
    public static let none = FTPPorts([])!

    var storage: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
    public private(set) var count: Int = 0

    /// nil with more than `maximumCount` ports or a port 0; duplicates are kept once.
    public init?(_ ports: [UInt16]) {
        for port in ports {
            guard port != 0 else { return nil }
            if contains(port) { continue }
            guard count < Self.maximumCount else { return nil }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: port, toByteOffset: count * 2, as: UInt16.self) }
            count += 1
        }
    }

    public var ports: [UInt16] {
        (0..<count).map { i in withUnsafeBytes(of: storage) { $0.load(fromByteOffset: i * 2, as: UInt16.self) } }
    }

    @inline(__always)
    public func contains(_ port: UInt16) -> Bool {
        withUnsafeBytes(of: storage) { raw in
            for i in 0..<count where raw.load(fromByteOffset: i * 2, as: UInt16.self) == port { return true }
            return false
        }
    }

    public static func == (a: FTPPorts, b: FTPPorts) -> Bool { a.ports == b.ports }
    public func hash(into hasher: inout Hasher) { hasher.combine(ports) }

    /// `21,2121`, as the tunable line writes it; `0` for none.
    public var description: String { count == 0 ? "0" : ports.map(String.init).joined(separator: ",") }
}
