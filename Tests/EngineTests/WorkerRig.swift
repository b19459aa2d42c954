import Core
import Logging
@testable import Engine
import PacketBuilder
import PacketIO
import Wire

/// Addresses of the engine tests: clients on interface 0 (client0), real servers on
/// interface 1 (server0), 198.18.0.0/15 and 2001:db8::/32 only. One TCP service VIP:80 in
/// DR with two real servers, so a forwarded frame is the client's with new MACs and TTL − 1.
enum EngineLab {
    static let clientMAC = MACAddress("02:00:00:00:c0:01")!
    static let directorClientMAC = MACAddress("02:00:00:00:00:01")!
    static let directorServerMAC = MACAddress("02:00:00:00:00:02")!
    static let rs1MAC = MACAddress("02:00:00:00:01:11")!
    static let rs2MAC = MACAddress("02:00:00:00:01:12")!

    static let client = "198.18.0.100", vip = "198.18.0.10", dip = "198.18.1.1"
    static let rs1 = "198.18.1.11", rs2 = "198.18.1.12"
    static let client6 = "2001:db8::100", vip6 = "2001:db8::10", dip6 = "2001:db8:1::1", rs6 = "2001:db8:1::11"
    static let port: UInt16 = 80

    static let interfaces = [
        InterfaceConfig(name: "client0", mac: directorClientMAC, addresses: [IPAddress("198.18.0.1")!, IPAddress("2001:db8::1")!]),
        InterfaceConfig(name: "server0", mac: directorServerMAC, addresses: [IPAddress(dip)!, IPAddress(dip6)!]),
    ]

    /// VIP:80 over rs1 and rs2 in round robin; `pinned`: both MACs come from `neighbour`
    /// lines, otherwise the engine must resolve them. `ipv6`: a second service [VIP6]:80 on rs6.
    static func config(weights: (Int32, Int32) = (1, 1), pinned: Bool = true, ipv6: Bool = false) -> DirectorConfig {
        var services = [VirtualServiceConfig(
            key: ServiceKey(.tcp, IPAddress(vip)!, port), scheduler: .roundRobin,
            realServers: [RealServerConfig(address: IPAddress(rs1)!, port: port, weight: weights.0),
                          RealServerConfig(address: IPAddress(rs2)!, port: port, weight: weights.1)])]
        if ipv6 {
            services.append(VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress(vip6)!, port), scheduler: .roundRobin,
                                                 realServers: [RealServerConfig(address: IPAddress(rs6)!, port: port)]))
        }
        let neighbours = pinned ? [NeighbourConfig(address: IPAddress(rs1)!, mac: rs1MAC, interface: 1),
                                   NeighbourConfig(address: IPAddress(rs2)!, mac: rs2MAC, interface: 1)] : []
        return DirectorConfig(services: services, interfaces: interfaces, neighbours: neighbours)
    }

    /// Where each real server lives, as `HostInterfaces.networks` would say for server0.
    static func route(_ address: IPAddress) -> (interface: Int, sender: IPAddress)? {
        if address.isIPv4 {
            return address.ipv4 >> 8 == IPAddress(dip)!.ipv4 >> 8 ? (1, IPAddress(dip)!) : nil
        }
        return address.high == IPAddress(dip6)!.high ? (1, IPAddress(dip6)!) : nil
    }

    static func fromClient(port clientPort: UInt16 = 40000, flags: TCPFlags = [.syn], payload: String = "",
                           ipv6: Bool = false) -> [UInt8] {
        let eth = Frame.ethernet(destination: directorClientMAC, source: clientMAC)
        let ip = ipv6 ? eth.ipv6(source: client6, destination: vip6) : eth.ipv4(source: client, destination: vip)
        return ip.tcp(sourcePort: clientPort, destinationPort: port, flags: flags, sequence: 1000).payload(payload).bytes
    }

    /// What DR sends real server `mac` for `fromClient` with the same arguments.
    static func towardServer(_ mac: MACAddress, port clientPort: UInt16 = 40000, flags: TCPFlags = [.syn],
                             payload: String = "", ipv6: Bool = false) -> [UInt8] {
        let eth = Frame.ethernet(destination: mac, source: directorServerMAC)
        let ip = ipv6 ? eth.ipv6(source: client6, destination: vip6, hopLimit: 63)
                      : eth.ipv4(source: client, destination: vip, ttl: 63)
        return ip.tcp(sourcePort: clientPort, destinationPort: port, flags: flags, sequence: 1000).payload(payload).bytes
    }

    /// A real server's ARP reply to the director.
    static func arpReply(from address: String, mac: MACAddress) -> [UInt8] {
        Frame.ethernet(destination: directorServerMAC, source: mac)
            .arp(operation: 2, senderMAC: mac, senderIP: address, targetMAC: directorServerMAC, targetIP: dip).bytes
    }

    /// A real server asking for another host's address (an ordinary ARP request, which the
    /// director passes as arp-not-for-director).
    static func arpRequest(from address: String, mac: MACAddress, for target: String = rs2) -> [UInt8] {
        Frame.ethernet(destination: .broadcast, source: mac)
            .arp(operation: 1, senderMAC: mac, senderIP: address, targetMAC: .zero, targetIP: target).bytes
    }

    /// A gratuitous ARP request announcing `address` at `mac` (sender = target, RFC 5227 §3).
    static func gratuitousARP(_ address: String, mac: MACAddress) -> [UInt8] {
        Frame.ethernet(destination: .broadcast, source: mac)
            .arp(operation: 1, senderMAC: mac, senderIP: address, targetMAC: .zero, targetIP: address).bytes
    }

    /// A neighbour advertisement for `target` with its target link-layer address option
    /// (RFC 4861 §4.4), hop limit 255; `flags` are the R/S/O bits (default S and O).
    static func neighbourAdvertisement(target: String, mac: MACAddress, flags: UInt32 = 0x6000_0000) -> [UInt8] {
        let address = IPAddress(target)!
        var body: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: address.high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: address.low >> UInt64(shift))) }
        body += [2, 1] + mac.octets
        return Frame.ethernet(destination: directorServerMAC, source: mac)
            .ipv6(source: target, destination: dip6, hopLimit: 255)
            .icmpv6(type: 136, code: 0, rest: flags).payload(body).bytes
    }
}

/// N workers over `InMemoryLink`s, wired by `PacketWorker.group` as `LiveDirector` wires its
/// AF_PACKET workers, driven one turn at a time with a clock of the test's own.
final class WorkerRig {
    typealias Worker = PacketWorker<InMemoryLink>
    let workers: [Worker]
    /// links[k][i]: worker k's link on interface i.
    let links: [[InMemoryLink]]
    var now: UInt64 = 1_000_000_000_000
    private(set) var snapshot: DirectorSnapshot

    /// `ring`, `reserve`: the links hand over frames as an RX ring of that version and reserve does.
    init(_ config: DirectorConfig, workers count: Int = 1, ring: RingVersion = .v2, reserve: Int? = nil) {
        snapshot = DirectorSnapshot(config)
        let links = (0..<count).map { _ in
            config.interfaces.indices.map { InMemoryLink(interface: $0, ring: ring, reserve: reserve) }
        }
        self.links = links
        workers = Worker.group(
            snapshot: snapshot, links: links, portOfInterface: Array(config.interfaces.indices),
            neighbours: NeighbourTable(config: config, route: EngineLab.route), senders: links[0],
            interfaceNames: config.interfaces.map(\.name), capacity: 4096, now: now,
            seed: { k in (UInt64(k) &+ 0x5157, 0) }, logger: Logger(label: "rig") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Worker 0's announcements, as `run` makes them before its first turn.
    func start() { workers[0].start() }

    /// One turn of worker `k` at the rig's clock; the number of frames it took.
    @discardableResult
    func turn(_ k: Int = 0) -> Int { workers[k].turn(now: now) }

    func advance(milliseconds: UInt64) { now &+= milliseconds * 1_000_000 }

    /// What `LiveDirector.reconfigure` does: the successor snapshot, built once, and a task
    /// per worker posted to its control mailbox that installs it (worker 0 with the new
    /// neighbour table). The tasks run on the workers' next turns.
    func postReconfiguration(_ config: DirectorConfig) -> [WorkerTask<InMemoryLink>] {
        let next = snapshot.successor(config)
        let table = NeighbourTable(config: config, route: EngineLab.route)
        snapshot = next
        return workers.map { worker in
            let task = WorkerTask<InMemoryLink> { w in _ = w.install(next, neighbours: w.index == 0 ? table : nil) }
            expectPosted(worker.control.post(task))
            return task
        }
    }
}

/// `#expect` is for tests; a rig helper that cannot post is a broken test, not a finding.
func expectPosted(_ posted: Bool) { precondition(posted, "the control mailbox was full") }
