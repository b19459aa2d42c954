import Wire

/// A virtual service's identity: protocol + VIP + vport (ipvsadm `-t VIP:port` / `-u VIP:port`).
public struct ServiceKey: Hashable, Sendable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var address: IPAddress
    public var port: UInt16

    public init(_ proto: TransportProtocol, _ address: IPAddress, _ port: UInt16) {
        self.proto = proto
        self.address = address
        self.port = port
    }

    public var endpoint: Endpoint { Endpoint(address, port) }
    public var description: String { "\(proto) \(endpoint)" }
}
