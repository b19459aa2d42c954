import Core
import PacketIO
import Logging

extension PacketWorker {
    /// How the workers of one director are wired once their links are open: a `Director`
    /// per worker with its `WorkerSlice` and its share of the table, worker 0 with the
    /// neighbour resolver (and the pcap ports), every other worker with a mailbox worker 0
    /// posts learned neighbours to. `LiveDirector` calls this after opening its sockets;
    /// tests call it with `InMemoryLink`s, so both run the same wiring.
    ///
    /// - Parameters:
    ///   - links: per worker, its link for each opened interface, in the same order for
    ///     every worker (`portOfInterface` maps a configuration interface to that position).
    ///   - senders: per configuration interface, how worker 0 asks for neighbours there.
    ///   - capacity: each worker's connection table size.
    ///   - seed: worker k's hash seed and local-port rotation (random in lvsd, fixed in tests).
    static func group(snapshot: DirectorSnapshot, links: [[L]], pcapPorts: [PcapPort] = [], portOfInterface: [Int],
                      neighbours: NeighbourTable, senders: [(any NeighbourSender)?], interfaceNames: [String],
                      capacity: Int, now: UInt64, seed: (Int) -> (hash: UInt64, localPortRotation: Int),
                      logger: Logger) -> [PacketWorker] {
        let count = links.count
        precondition(count >= 1, "a director has at least one worker")
        let resolver = NeighbourResolver(table: neighbours, arp: senders, config: snapshot.config,
                                         interfaceNames: interfaceNames, logger: logger)
        var workers: [PacketWorker] = []
        for k in 0..<count {
            let (hash, rotation) = seed(k)
            let director = Director(snapshot: snapshot, workerSlice: WorkerSlice(index: k, count: count),
                                    capacity: capacity, hashSeed: hash, now: now, localPortRotation: rotation)
            workers.append(PacketWorker(
                index: k, director: director, ports: links[k], pcapPorts: k == 0 ? pcapPorts : [],
                portOfInterface: portOfInterface, inbox: k == 0 ? nil : Mailbox(capacity: 256),
                resolver: k == 0 ? resolver : nil, resolveRequest: resolver.request, logger: logger))
        }
        resolver.peers = workers.dropFirst().compactMap(\.inbox)
        return workers
    }
}
