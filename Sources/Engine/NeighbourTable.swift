import Core
import Wire

/// The real servers' MAC addresses, resolved by the live director itself: ARP for IPv4
/// (RFC 826), neighbour solicitation for IPv6 (RFC 4861 §7.2).
///
/// Every IPv4 real server that no `neighbour` line pins is resolved at start, asked again
/// every second until a reply arrives, and refreshed after `lifetime` (5 minutes, a little
/// above Linux's default reachable time): the old MAC stays in use until the new reply, since
/// Core has no "unresolve" and a live server keeps answering.
///
/// What is learned is what Linux's neighbour code would accept, and less: a MAC comes only
/// from a reply to a question lvsd asked (an ARP reply to the director's address, a
/// solicited neighbour advertisement, RFC 4861 §7.2.5) or, for a neighbour already
/// resolved, from its own gratuitous announcement (sender = target address, or an
/// unsolicited advertisement with the Override flag). A changed MAC is taken no sooner than
/// `lockTime` after the last one, as Linux's `neigh/default/locktime` (1 s): two answers
/// racing, or a forger answering every request, cannot make the entry flap per frame.
/// Requests from real servers, and replies nobody asked for, teach nothing.
///
/// IPv6 real servers are solicited at their solicited-node multicast address.
final class NeighbourTable {
    struct Entry {
        let address: IPAddress
        /// Index into the director's interfaces.
        let interface: Int
        /// The director's own address on that interface, the ARP or NS sender address.
        let senderAddress: IPAddress
        var mac: MACAddress = .zero
        var resolvedAt: UInt64?
        /// When `mac` last took a new value (the lock time counts from here).
        var changedAt: UInt64?
        var lastRequest: UInt64?
    }

    /// What a frame says about a neighbour, as far as learning is concerned.
    enum Announcement: Equatable {
        /// An ARP reply to `to`, or a neighbour advertisement with the Solicited flag.
        case reply(to: IPAddress?)
        /// Gratuitous ARP (sender = target), or an unsolicited advertisement with Override.
        case gratuitous
        /// Anything else that names a sender: an ARP request, an advertisement without
        /// Solicited or Override.
        case other
    }

    /// What `learn` did with an announcement.
    enum Learning: Equatable {
        /// First MAC for the entry, or a different one: tell the directors.
        case learned
        /// The MAC it already had, confirmed: refresh only.
        case confirmed
        /// Not a real server this table resolves.
        case stranger
        /// A real server, but nothing lvsd asked for and no gratuitous update of a known entry.
        case unsolicited
        /// A different MAC within `lockTime` of the last change.
        case locked
    }

    static let retryInterval: UInt64 = 1_000_000_000
    static let lifetime: UInt64 = 300 * 1_000_000_000
    static let lockTime: UInt64 = 1_000_000_000

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

    /// Learns `address` → `mac` seen on `interface`, if `announcement` is one lvsd takes
    /// (see the type's comment).
    func learn(address: IPAddress, mac: MACAddress, interface: Int, announcement: Announcement, now: UInt64) -> Learning {
        guard mac != .zero, !mac.isMulticast,
              let i = entries.firstIndex(where: { $0.address == address && $0.interface == interface }) else { return .stranger }
        let entry = entries[i]
        switch announcement {
        case .reply(let to):
            guard entry.lastRequest != nil else { return .unsolicited }
            if let to, to != entry.senderAddress { return .unsolicited }
        case .gratuitous:
            guard entry.resolvedAt != nil else { return .unsolicited }
        case .other:
            return .unsolicited
        }
        if entry.resolvedAt != nil, entry.mac == mac {
            entries[i].resolvedAt = now
            entries[i].lastRequest = nil
            return .confirmed
        }
        if let changed = entry.changedAt, now &- changed < Self.lockTime { return .locked }
        entries[i].mac = mac
        entries[i].resolvedAt = now
        entries[i].changedAt = now
        entries[i].lastRequest = nil
        return .learned
    }

    /// Takes over what `old` resolved for the same address on the same interface (a reload
    /// keeps the MACs it knows; they refresh on the usual lifetime).
    func carry(from old: NeighbourTable) {
        for i in entries.indices {
            guard let known = old.entries.first(where: { $0.address == entries[i].address && $0.interface == entries[i].interface }),
                  known.resolvedAt != nil else { continue }
            entries[i].mac = known.mac
            entries[i].resolvedAt = known.resolvedAt
            entries[i].changedAt = known.changedAt
        }
    }

    var unresolvedCount: Int { entries.reduce(0) { $0 + ($1.resolvedAt == nil ? 1 : 0) } }
}
