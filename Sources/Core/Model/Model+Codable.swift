import Wire

// Control messages (lvsd's socket) carry these as JSON. Enums and option sets travel as their
// raw values (the protocol numbers, ipvsadm's scheduler names); the conformances come from
// the standard library's RawRepresentable defaults.

extension TransportProtocol: Codable {}
extension ForwardingMethod: Codable {}
extension SchedulerKind: Codable {}
extension SchedulerFlags: Codable {}
extension ConnectionState: Codable {}

extension ServiceKey: Codable {
    private enum CodingKeys: String, CodingKey { case proto, address, port, fwmark }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(TransportProtocol.self, forKey: .proto), try c.decode(IPAddress.self, forKey: .address),
                  try c.decode(UInt16.self, forKey: .port))
        fwmark = try c.decodeIfPresent(UInt32.self, forKey: .fwmark) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(proto, forKey: .proto)
        try c.encode(address, forKey: .address)
        try c.encode(port, forKey: .port)
        if fwmark != 0 { try c.encode(fwmark, forKey: .fwmark) }
    }
}
