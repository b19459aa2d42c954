import Core
import Synchronization
import Wire
import Logging

/// Worker 0's ARP duties, done for every worker: gratuitous ARP for the VIPs and LIPs at
/// start, ARP requests for the real servers (`NeighbourTable`), and learning their replies.
///
/// The fanout program gives every ARP frame to worker 0 (Docs/adr/0002), so only worker 0
/// learns; each MAC it learns goes to its own director at once and to every other worker's
/// director through that worker's `Mailbox`, which the worker drains between batches. The
/// other workers never wait for it and never share the table.
final class NeighbourResolver {
    private var table: NeighbourTable
    /// Each interface's sender (`ARPSender`, or an `InMemoryLink` in tests), nil where none.
    private let arp: [(any NeighbourSender)?]
    private var config: DirectorConfig
    private let interfaceNames: [String]
    private let logger: Logger
    /// The other workers' mailboxes (worker 0 is the producer of each).
    var peers: [Mailbox<WorkerMessage>] = []
    /// Messages a full mailbox refused, posted again on the next housekeeping turn.
    private var pending: [(peer: Int, message: WorkerMessage)] = []
    /// Raised by any worker that dropped a frame as neighbour-unresolved.
    let request = ResolveRequest()

    init(table: NeighbourTable, arp: [(any NeighbourSender)?], config: DirectorConfig, interfaceNames: [String],
         logger: Logger) {
        self.table = table
        self.arp = arp
        self.config = config
        self.interfaceNames = interfaceNames
        self.logger = logger
    }

    /// Learns a real server's MAC from a frame the director passed: the sender of an ARP
    /// packet (`arp-not-for-director`), or the target of a neighbour advertisement
    /// (`icmp-not-related`: ND is the host's business to the director's Core), if
    /// `NeighbourTable.learn` takes it. A new or changed MAC is logged once per change, and
    /// changes are at most one per lock time, so a flood of answers cannot flood the log.
    func learn(from packet: PacketBuffer, director: Director, now: UInt64, counters: inout LiveDirector.EngineCounters) {
        guard let (ip, mac, announcement) = Self.neighbour(in: packet) else { return }
        switch table.learn(address: ip, mac: mac, interface: packet.interface, announcement: announcement, now: now) {
        case .stranger:
            return
        case .unsolicited:
            counters.neighbourUnsolicited &+= 1
            return
        case .locked:
            counters.neighbourLocked &+= 1
            return
        case .confirmed:
            return
        case .learned:
            director.setNeighbour(ip, mac: mac, interface: packet.interface)
            for peer in peers.indices {
                post(.neighbour(ip, mac, interface: packet.interface), to: peer)
            }
            counters.neighboursLearned &+= 1
            logger.info("lvsd: neighbour \(ip) is at \(mac) on \(config.interfaces[packet.interface].name)")
        }
    }

    /// Posts to a peer's mailbox, or keeps the message for the next housekeeping turn. A
    /// newer MAC for the same neighbour replaces a kept one, so what is kept is bounded by
    /// peers × real servers whatever the peers' backlog.
    private func post(_ message: WorkerMessage, to peer: Int) {
        if peers[peer].post(message) { return }
        if case .neighbour(let address, _, let interface) = message,
           let i = pending.firstIndex(where: {
               guard $0.peer == peer, case .neighbour(let a, _, let n) = $0.message else { return false }
               return a == address && n == interface
           }) {
            pending[i].message = message
        } else {
            pending.append((peer, message))
        }
    }

    /// The address and MAC an ARP packet's sender, or a neighbour advertisement's target
    /// with its target link-layer option (RFC 4861 §4.4), announces, and what kind of
    /// announcement it is; nil for anything else.
    static func neighbour(in packet: PacketBuffer) -> (IPAddress, MACAddress, NeighbourTable.Announcement)? {
        guard let eth = try? EthernetFrame(packet.frame, length: packet.length) else { return nil }
        if eth.etherType == .arp {
            guard let arp = try? ARPPacket(eth.payload, length: eth.payloadLength) else { return nil }
            let announcement: NeighbourTable.Announcement =
                arp.senderIP == arp.targetIP ? .gratuitous
                : arp.operation == .reply ? .reply(to: IPAddress(ipv4: arp.targetIP)) : .other
            return (IPAddress(ipv4: arp.senderIP), arp.senderMAC, announcement)
        }
        guard eth.etherType == .ipv6, let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength),
              ip.upperProtocol == .icmpv6, !ip.isFragment, ip.hopLimit == NeighborDiscovery.hopLimit else { return nil }
        guard let message = try? ICMPv6Message(ip.upper, length: ip.totalLength - ip.upperOffset),
              let advert = try? NeighborAdvertisementMessage(message),
              let mac = advert.targetLinkLayerAddress else { return nil }
        let flags = advert.flags
        let announcement: NeighbourTable.Announcement =
            flags.contains(.solicited) ? .reply(to: nil) : flags.contains(.override) ? .gratuitous : .other
        return (advert.target, mac, announcement)
    }

    /// Asks again for every entry that is due, and re-posts what a full mailbox refused.
    func resolve(now: UInt64, counters: inout LiveDirector.EngineCounters) {
        if !pending.isEmpty {
            pending = pending.filter { !peers[$0.peer].post($0.message) }
        }
        table.due(now: now) { entry in
            guard let sender = arp[entry.interface] else { return }
            do {
                if entry.address.isIPv4 {
                    try sender.request(target: entry.address.ipv4, sender: entry.senderAddress.ipv4)
                    counters.arpRequestsSent &+= 1
                } else {
                    try sender.solicit(target: entry.address, source: entry.senderAddress)
                    counters.neighbourSolicitationsSent &+= 1
                }
            } catch {
                logger.warning("lvsd: \(error)")
            }
        }
    }

    /// A reload: resolve the new configuration's real servers (keeping what is already
    /// known of addresses that stay) and announce the VIPs and LIPs this director did not
    /// own before.
    func reconfigure(config new: DirectorConfig, table newTable: NeighbourTable, counters: inout LiveDirector.EngineCounters) {
        let before = Set(config.ownedAddresses)
        newTable.carry(from: table)
        table = newTable
        config = new
        // Standby (VRRP) addresses are announced by their instance when it becomes MASTER.
        let added = new.activeAddresses.filter { !before.contains($0) }
        if !added.isEmpty { announce(added, counters: &counters) }
    }

    /// Gratuitous ARP for every IPv4 VIP and LIP, an unsolicited neighbour advertisement for
    /// every IPv6 one, on every interface, so neighbours that cached another owner switch to
    /// this director at once.
    func announce(counters: inout LiveDirector.EngineCounters) {
        announce(config.activeAddresses, counters: &counters)
    }

    /// `count` announcements of each of `owned` on every interface (a VRRP master's bursts).
    func announce(_ owned: [IPAddress], count: Int = 1, counters: inout LiveDirector.EngineCounters) {
        let sentBefore = counters.gratuitousARPSent
        let advertisedBefore = counters.unsolicitedAdvertisementsSent
        for address in owned {
            for _ in 0..<max(count, 0) { for case let sender? in arp {
                do {
                    if address.isIPv4 {
                        try sender.announce(address.ipv4)
                        counters.gratuitousARPSent &+= 1
                    } else {
                        try sender.advertise(address)
                        counters.unsolicitedAdvertisementsSent &+= 1
                    }
                } catch {
                    logger.warning("lvsd: \(error)")
                }
            } }
        }
        if counters.gratuitousARPSent > sentBefore {
            logger.info("lvsd: sent \(counters.gratuitousARPSent - sentBefore) gratuitous ARP (\(owned.filter(\.isIPv4).map(\.description).joined(separator: ", ")) on \(interfaceNames.joined(separator: ", ")))")
        }
        if counters.unsolicitedAdvertisementsSent > advertisedBefore {
            logger.info("lvsd: sent \(counters.unsolicitedAdvertisementsSent - advertisedBefore) unsolicited neighbour advertisements (\(owned.filter { !$0.isIPv4 }.map(\.description).joined(separator: ", ")) on \(interfaceNames.joined(separator: ", ")))")
        }
    }
}

/// A flag any worker raises and worker 0 lowers: "a frame waits for a neighbour, ask now".
final class ResolveRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Raises the flag; a load first, so a flood of unresolved frames does not keep taking
    /// the cache line away from worker 0.
    @inline(__always)
    func raise() {
        if !flag.load(ordering: .relaxed) { flag.store(true, ordering: .relaxed) }
    }

    /// Whether the flag was raised since the last call (and lowers it).
    @inline(__always)
    func take() -> Bool {
        flag.load(ordering: .relaxed) && flag.exchange(false, ordering: .relaxed)
    }
}
