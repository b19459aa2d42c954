import Wire

/// The transport protocols a virtual service can balance (ipvsadm `-t` and `-u`): the closed
/// subset of `Wire.IPProtocol` that Core keys services and connections by. Raw values are
/// the IP protocol numbers, so converting either way is free.
public enum TransportProtocol: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp = 6  // IPProtocol.tcp
    case udp = 17  // IPProtocol.udp

    /// The balanced protocol `proto` is, or nil for any other.
    @inlinable public init?(_ proto: IPProtocol) { self.init(rawValue: proto.rawValue) }

    /// The protocol number on the wire.
    @inlinable public var ipProtocol: IPProtocol { IPProtocol(rawValue: rawValue) }

    /// `TCP` / `UDP`, as ipvsadm's listing prints them.
    public var description: String { self == .tcp ? "TCP" : "UDP" }
}
