import Wire

/// The transport protocols a virtual service can balance (ipvsadm `-t` and `-u`).
public enum TransportProtocol: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp = 6
    case udp = 17

    /// `TCP` / `UDP`, as ipvsadm's listing prints them.
    public var description: String { self == .tcp ? "TCP" : "UDP" }
}
