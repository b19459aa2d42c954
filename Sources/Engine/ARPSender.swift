import CNet
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Sends ARP requests and gratuitous ARP (and their IPv6 counterparts, neighbour
/// solicitations and unsolicited advertisements) from one interface, frames built with libnet
/// (`LIBNET_LINK_ADV`: libnet opens its own AF_PACKET socket on the interface and writes
/// whole Ethernet frames). Control plane only: a few frames a second at most, so libnet's
/// per-frame allocation does not matter here.
///
/// The director's RX socket sets PACKET_IGNORE_OUTGOING, so it never sees these frames.
final class ARPSender {
    let interface: String
    let mac: MACAddress
    private let context: UnsafeMutablePointer<libnet_t>

    init(interface: String, mac: MACAddress) throws(EngineError) {
        var errors = [CChar](repeating: 0, count: Int(LIBNET_ERRBUF_SIZE))
        guard let context = libnet_init(LIBNET_LINK_ADV, interface, &errors) else {
            throw EngineError("libnet could not open interface \(interface) for ARP: \(String(decoding: errors.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        self.interface = interface
        self.mac = mac
        self.context = context
    }

    deinit { libnet_destroy(context) }

    /// Broadcast "who has `target`? tell `sender`" (RFC 826).
    func request(target: UInt32, sender: UInt32) throws(EngineError) {
        try send(operation: UInt16(ARPOP_REQUEST), senderIP: sender, targetIP: target,
                 targetMAC: .zero, destination: .broadcast)
    }

    /// Gratuitous ARP for an address the director owns (RFC 5227 §3 announcement: a request
    /// with sender and target both set to the address), so neighbours update their caches.
    func announce(_ address: UInt32) throws(EngineError) {
        try send(operation: UInt16(ARPOP_REQUEST), senderIP: address, targetIP: address,
                 targetMAC: .zero, destination: .broadcast)
    }

    // MARK: IPv6 neighbour discovery (RFC 4861)

    /// Neighbour solicitation for `target` from `source` (the director's address on this
    /// link), to the target's solicited-node multicast group, with our MAC as the source
    /// link-layer option so the answer can come straight back (§4.3, §7.2.2).
    func solicit(target: IPAddress, source: IPAddress) throws(EngineError) {
        // ff02::1:ffXX:XXXX and its Ethernet group 33:33:ff:XX:XX:XX (RFC 4291 §2.7.1, RFC 2464 §7).
        let low24 = target.low & 0xFF_FFFF
        let group = IPAddress(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | low24)
        let destination = MACAddress(rawValue: 0x3333_FF00_0000 | low24)
        try sendND(type: UInt8(ND_NEIGHBOR_SOLICIT), flags: 0, target: target, option: UInt8(ND_OPT_SOURCE_LINKADDR),
                   source: source, destination: group, destinationMAC: destination)
    }

    /// Unsolicited neighbour advertisement for an address the director owns, to all nodes,
    /// with the override flag, so neighbours that cached another owner switch at once
    /// (RFC 4861 §7.2.6) — IPv6's gratuitous ARP.
    func advertise(_ address: IPAddress) throws(EngineError) {
        let allNodes = IPAddress(high: 0xFF02_0000_0000_0000, low: 1)
        try sendND(type: UInt8(ND_NEIGHBOR_ADVERT), flags: Self.override, target: address,
                   option: UInt8(ND_OPT_TARGET_LINKADDR), source: address, destination: allNodes,
                   destinationMAC: MACAddress(rawValue: 0x3333_0000_0001))
    }

    /// ND_NA_FLAG_OVERRIDE in host order (libnet converts the flags word).
    static let override: UInt32 = 0x2000_0000

    private func sendND(type: UInt8, flags: UInt32, target: IPAddress, option: UInt8, source: IPAddress,
                        destination: IPAddress, destinationMAC: MACAddress) throws(EngineError) {
        libnet_clear_packet(context)
        var sha = mac.octets, dst = destinationMAC.octets
        let length: UInt32 = 24 + 8  // ICMPv6 header, flags/reserved, target; one link-layer option
        let built = libnet_build_icmpv6_ndp_opt(option, &sha, 6, context, 0)
        guard built != -1 else { throw failure("build a neighbour discovery option") }
        let message = type == UInt8(ND_NEIGHBOR_SOLICIT)
            ? libnet_build_icmpv6_ndp_nsol(type, 0, 0, Self.in6(target), nil, 0, context, 0)
            : libnet_build_icmpv6_ndp_nadv(type, 0, 0, flags, Self.in6(target), nil, 0, context, 0)
        guard message != -1 else { throw failure("build a neighbour discovery message") }
        // Hop limit 255: receivers drop ND from anything that was routed (RFC 4861 §7.1).
        let ip = libnet_build_ipv6(0, 0, UInt16(length), UInt8(IPPROTO_ICMPV6), 255, Self.in6(source),
                                   Self.in6(destination), nil, 0, context, 0)
        guard ip != -1 else { throw failure("build an IPv6 header") }
        let ethernet = libnet_build_ethernet(&dst, &sha, UInt16(ETHERTYPE_IPV6), nil, 0, context, 0)
        guard ethernet != -1 else { throw failure("build an Ethernet header") }
        guard libnet_write(context) != -1 else { throw failure("send a neighbour discovery frame") }
    }

    private static func in6(_ address: IPAddress) -> libnet_in6_addr {
        var out = libnet_in6_addr()
        withUnsafeMutableBytes(of: &out) { raw in
            for i in 0..<8 {
                raw[i] = UInt8(truncatingIfNeeded: address.high >> UInt64(56 - 8 * i))
                raw[8 + i] = UInt8(truncatingIfNeeded: address.low >> UInt64(56 - 8 * i))
            }
        }
        return out
    }

    private func send(operation: UInt16, senderIP: UInt32, targetIP: UInt32,
                      targetMAC: MACAddress, destination: MACAddress) throws(EngineError) {
        libnet_clear_packet(context)
        var sha = mac.octets, tha = targetMAC.octets, dst = destination.octets
        var spa = Self.bytes(senderIP), tpa = Self.bytes(targetIP)
        // libnet_build_arp, not autobuild: autobuild fills hardware and protocol types for
        // Ethernet/IPv4 just the same, but build lets the frame be built without touching
        // the device's own addresses.
        let arp = libnet_build_arp(UInt16(ARPHRD_ETHER), UInt16(ETHERTYPE_IP), 6, 4, operation,
                                   &sha, &spa, &tha, &tpa, nil, 0, context, 0)
        guard arp != -1 else { throw failure("build an ARP packet") }
        let ethernet = libnet_build_ethernet(&dst, &sha, UInt16(ETHERTYPE_ARP), nil, 0, context, 0)
        guard ethernet != -1 else { throw failure("build an Ethernet header") }
        guard libnet_write(context) != -1 else { throw failure("send an ARP frame") }
    }

    private func failure(_ what: String) -> EngineError {
        EngineError("libnet could not \(what) on \(interface): \(String(cString: libnet_geterror(context)))")
    }

    /// Network byte order, as ARP carries it.
    private static func bytes(_ address: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: address >> 24), UInt8(truncatingIfNeeded: address >> 16),
         UInt8(truncatingIfNeeded: address >> 8), UInt8(truncatingIfNeeded: address)]
    }
}
