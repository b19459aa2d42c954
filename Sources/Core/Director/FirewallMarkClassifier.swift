import Wire

/// The configuration's `FirewallMarkRule`s compiled for the new-connection path: flat arrays
/// walked in order, no allocation and no hashing per packet. Rules are few (one per marked
/// service and protocol, as the mangle rules they replace), so a linear walk over a few
/// cache lines beats any index.
@usableFromInline
struct FirewallMarkClassifier {
    @usableFromInline struct Rule {
        var network: IPAddress
        var maskHigh: UInt64
        var maskLow: UInt64
        var proto: UInt8
        var isIPv4: Bool
        var mark: UInt32
        /// `ports[portStart ..< portStart + portCount]`; no ranges: every port.
        var portStart: Int32
        var portCount: Int32
    }

    @usableFromInline var rules: [Rule]
    /// Every rule's port ranges, flat, as (low, high).
    @usableFromInline var ports: [(UInt16, UInt16)]

    init(_ config: [FirewallMarkRule]) {
        rules = []
        ports = []
        for r in config {
            let mask = IPAddress(high: .max, low: .max).masked(prefixLength: r.address.isIPv4 ? r.prefixLength + 96 : r.prefixLength)
            // An IPv4 prefix counts within the 32 bits of the mapped address, and the mapped
            // ::ffff:0:0/96 part is compared whole; a short IPv6 prefix would cover mapped
            // addresses, so the family is part of the test too.
            let (high, low): (UInt64, UInt64) = r.address.isIPv4
                ? (.max, 0xFFFF_FFFF_0000_0000 | (mask.low & 0xFFFF_FFFF))
                : (mask.high, mask.low)
            let start = ports.count
            for range in r.ports { ports.append((range.lowerBound, range.upperBound)) }
            rules.append(Rule(network: IPAddress(high: r.address.high & high, low: r.address.low & low),
                              maskHigh: high, maskLow: low, proto: r.proto.rawValue, isIPv4: r.address.isIPv4, mark: r.mark,
                              portStart: Int32(start), portCount: Int32(ports.count - start)))
        }
    }

    @inline(__always) @usableFromInline
    var isEmpty: Bool { rules.isEmpty }

    /// The mark of the first rule the destination matches, or 0.
    @inline(__always) @usableFromInline
    func mark(_ proto: TransportProtocol, _ destination: IPAddress, _ port: UInt16) -> UInt32 {
        let isIPv4 = destination.isIPv4
        for r in rules where r.proto == proto.rawValue && r.isIPv4 == isIPv4
            && destination.high & r.maskHigh == r.network.high && destination.low & r.maskLow == r.network.low {
            if r.portCount == 0 { return r.mark }
            var i = Int(r.portStart)
            let end = i + Int(r.portCount)
            while i < end {
                if port >= ports[i].0 && port <= ports[i].1 { return r.mark }
                i += 1
            }
        }
        return 0
    }
}
