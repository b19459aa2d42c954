import Core
import Wire

/// The real servers' MAC addresses, resolved by the live director itself: ARP for IPv4
/// (RFC 826), neighbour solicitation for IPv6 (RFC 4861 §7.2).
///
/// Every IPv4 real server that no `neighbour` line pins is resolved at start, asked again
/// every second until a reply arrives, and refreshed after `lifetime` (5 minutes, a little
/// above Linux's default reachable time): the old MAC stays in use until the new reply, since
/// Core has no "unresolve" and a live server keeps answering. Replies (and requests, whose
/// sender fields are just as good, as RFC 826 says) are learned from frames the director
/// passes as `arp-not-for-director`.
///
/// IPv6 real servers are solicited at their solicited-node multicast address and learned
/// from the neighbour advertisements they send back (or, unsolicited, on their own).
final class NeighbourTable {
    struct Entry {
        let address: IPAddress
        /// Index into the director's interfaces.
        let interface: Int
        /// The director's own address on that interface, the ARP or NS sender address.
        let senderAddress: IPAddress
        var mac: MACAddress = .zero
        var resolvedAt: UInt64?
        var lastRequest: UInt64?
    }

    static let retryInterval: UInt64 = 1_000_000_000
    static let lifetime: UInt64 = 300 * 1_000_000_000

    private(set) var entries: [Entry]
    /// Unresolved real server addresses that cannot be asked (no IPv4 sender on any interface).
    let unreachable: [IPAddress]

    /// - Parameter route: for a real server address, the interface (index) that reaches it
    ///   and the director's address there (same family); nil when none does.
    init(config: DirectorConfig, route: (IPAddress) -> (interface: Int, sender: IPAddress)?) {
        let pinned = Set(config.neighbours.map(\.address))
        var seen = Set<IPAddress>()
        var entries: [Entry] = []
        var unreachable: [IPAddress] = []
        for service in config.services {
            for server in service.realServers where !pinned.contains(server.address) {
                guard seen.insert(server.address).inserted else { continue }
                if let hop = route(server.address) {
                    entries.append(Entry(address: server.address, interface: hop.interface, senderAddress: hop.sender))
                } else {
                    unreachable.append(server.address)
                }
            }
        }
        self.entries = entries
        self.unreachable = unreachable
    }

    /// Entries that need an ARP request or neighbour solicitation at `now`: never resolved and not asked within the
    /// retry interval, or resolved longer ago than the lifetime (refresh).
    func due(now: UInt64, _ body: (Entry) -> Void) {
        for i in entries.indices {
            let e = entries[i]
            if let asked = e.lastRequest, now &- asked < Self.retryInterval { continue }
            if let resolved = e.resolvedAt, now &- resolved < Self.lifetime { continue }
            entries[i].lastRequest = now
            body(e)
        }
    }

    /// Learns `address` → `mac` seen on `interface`; returns true when it is a real server
    /// this table resolves and the MAC is new or was refreshed.
    func learn(address: IPAddress, mac: MACAddress, interface: Int, now: UInt64) -> Bool {
        guard mac != .zero, !mac.isMulticast else { return false }
        for i in entries.indices where entries[i].address == address && entries[i].interface == interface {
            entries[i].mac = mac
            entries[i].resolvedAt = now
            entries[i].lastRequest = nil
            return true
        }
        return false
    }

    /// Takes over what `old` resolved for the same address on the same interface (a reload
    /// keeps the MACs it knows; they refresh on the usual lifetime).
    func carry(from old: NeighbourTable) {
        for i in entries.indices {
            guard let known = old.entries.first(where: { $0.address == entries[i].address && $0.interface == entries[i].interface }),
                  known.resolvedAt != nil else { continue }
            entries[i].mac = known.mac
            entries[i].resolvedAt = known.resolvedAt
        }
    }

    var unresolvedCount: Int { entries.reduce(0) { $0 + ($1.resolvedAt == nil ? 1 : 0) } }
}
