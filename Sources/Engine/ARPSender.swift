import CNet
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Sends ARP requests and gratuitous ARP from one interface, frames built with libnet
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
            throw EngineError("libnet could not open interface \(interface) for ARP: \(String(cString: errors))")
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
