/// One named value of one header, as the teaching view prints it: `ipv4 dst 198.18.0.10`.
///
/// `layer` names the header the field belongs to; headers nested inside others carry a
/// prefix that says how they are carried (`outer ipv4` for an IPIP outer header,
/// `quoted ipv4` / `quoted tcp` for the datagram an ICMP error quotes), so the same
/// `layer`+`name` means the same field in a frame before and after the director rewrote it.
public struct Field: Hashable, Sendable, CustomStringConvertible {
    public var layer: String
    public var name: String
    public var value: String

    public init(_ layer: String, _ name: String, _ value: String) {
        self.layer = layer
        self.name = name
        self.value = value
    }

    /// What a before/after comparison matches fields by.
    public var key: String { layer + " " + name }

    public var description: String { "\(layer) \(name) \(value)" }
}
