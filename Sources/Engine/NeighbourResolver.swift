import Core
import Synchronization
import Wire

/// Worker 0's ARP duties, done for every worker: gratuitous ARP for the VIPs and LIPs at
/// start, ARP requests for the real servers (`NeighbourTable`), and learning their replies.
///
/// The fanout program gives every ARP frame to worker 0 (Docs/adr/0002), so only worker 0
/// learns; each MAC it learns goes to its own director at once and to every other worker's
/// director through that worker's `Mailbox`, which the worker drains between batches. The
/// other workers never wait for it and never share the table.
final class NeighbourResolver {
    private var table: NeighbourTable
    private let arp: [ARPSender?]
    private var config: DirectorConfig
    private let interfaceNames: [String]
    private let log: @Sendable (String) -> Void
    /// The other workers' mailboxes (worker 0 is the producer of each).
    var peers: [Mailbox<WorkerMessage>] = []
    /// Messages a full mailbox refused, posted again on the next housekeeping turn.
    private var pending: [(peer: Int, message: WorkerMessage)] = []
    /// Raised by any worker that dropped a frame as neighbour-unresolved.
    let request = ResolveRequest()

    init(table: NeighbourTable, arp: [ARPSender?], config: DirectorConfig, interfaceNames: [String],
         log: @escaping @Sendable (String) -> Void) {
        self.table = table
        self.arp = arp
        self.config = config
        self.interfaceNames = interfaceNames
        self.log = log
    }

    /// Learns the sender of an ARP frame the director passed as `arp-not-for-director`.
    func learn(from packet: PacketBuffer, director: Director, now: UInt64, counters: inout LiveDirector.EngineCounters) {
        guard let eth = try? EthernetFrame(packet.frame, length: packet.length), eth.etherType == 0x0806,
              let arp = try? ARPPacket(eth.payload, length: eth.payloadLength) else { return }
        let mac = arp.senderMAC
        let address = arp.senderIP
        let before = table.entries.first { $0.address == address && $0.interface == packet.interface }
        guard table.learn(address: address, mac: mac, interface: packet.interface, now: now) else { return }
        let ip = IPAddress(ipv4: address)
        director.setNeighbour(ip, mac: mac, interface: packet.interface)
        for peer in peers.indices {
            let message = WorkerMessage.neighbour(ip, mac, interface: packet.interface)
            if !peers[peer].post(message) { pending.append((peer, message)) }
        }
        if before?.resolvedAt == nil || before?.mac != mac {
            counters.neighboursLearned &+= 1
            log("lvsd: neighbour \(ip) is at \(mac) on \(config.interfaces[packet.interface].name)")
        }
    }

    /// Asks again for every entry that is due, and re-posts what a full mailbox refused.
    func resolve(now: UInt64, counters: inout LiveDirector.EngineCounters) {
        if !pending.isEmpty {
            pending = pending.filter { !peers[$0.peer].post($0.message) }
        }
        table.due(now: now) { entry in
            guard let sender = arp[entry.interface] else { return }
            do {
                try sender.request(target: entry.address, sender: entry.senderAddress)
                counters.arpRequestsSent &+= 1
            } catch {
                log("lvsd: \(error)")
            }
        }
    }

    /// A reload: resolve the new configuration's real servers (keeping what is already
    /// known of addresses that stay) and announce the VIPs and LIPs this director did not
    /// own before.
    func reconfigure(config new: DirectorConfig, table newTable: NeighbourTable, counters: inout LiveDirector.EngineCounters) {
        let before = Set(Self.ownedAddresses(config))
        newTable.carry(from: table)
        table = newTable
        config = new
        let added = Self.ownedAddresses(new).filter { !before.contains($0) }
        if !added.isEmpty { announce(added, counters: &counters) }
    }

    /// Every VIP and LIP of `config`, in configuration order, each once.
    static func ownedAddresses(_ config: DirectorConfig) -> [IPAddress] {
        var owned: [IPAddress] = []
        for service in config.services {
            if !owned.contains(service.key.address) { owned.append(service.key.address) }
            for lip in service.localAddresses where !owned.contains(lip) { owned.append(lip) }
        }
        return owned
    }

    /// Gratuitous ARP for every IPv4 VIP and LIP on every interface, so neighbours that
    /// cached another owner switch to this director at once.
    func announce(counters: inout LiveDirector.EngineCounters) {
        announce(Self.ownedAddresses(config), counters: &counters)
    }

    private func announce(_ owned: [IPAddress], counters: inout LiveDirector.EngineCounters) {
        let sentBefore = counters.gratuitousARPSent
        for address in owned where address.isIPv4 {
            for case let sender? in arp {
                do {
                    try sender.announce(address.ipv4)
                    counters.gratuitousARPSent &+= 1
                } catch {
                    log("lvsd: \(error)")
                }
            }
        }
        if counters.gratuitousARPSent > sentBefore {
            log("lvsd: sent \(counters.gratuitousARPSent) gratuitous ARP (\(owned.filter(\.isIPv4).map(\.description).joined(separator: ", ")) on \(interfaceNames.joined(separator: ", ")))")
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
