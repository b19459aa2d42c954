import Core
import Testing
import Wire

/// Every scheduler skips servers flagged overloaded (IP_VS_DEST_F_OVERLOAD, set by the upper
/// threshold): with all servers but one overloaded, a fresh scheduler picks that one or none
/// (hashing schedulers without fallback may hash to an overloaded server and give none).
@Suite struct SchedulerOverloadTests {
    typealias F = SchedulerFixtures

    /// Schedulers that consult every server, so the one available server must be chosen.
    static let exhaustive: Set<SchedulerKind> = [
        .roundRobin, .weightedRoundRobin, .leastConnection, .weightedLeastConnection, .shortestExpectedDelay,
        .neverQueue, .weightedFailover, .weightedOverflow, .powerOfTwoChoices, .localityBasedLeastConnection,
        .replicatedLocalityBasedLeastConnection,
    ]

    static func flows() -> [FlowTuple] {
        (0..<64).map { i in
            FlowTuple(proto: .tcp, clientAddress: IPAddress(ipv4: 0xC0A8_0000 &+ UInt32(i) &* 977), clientPort: UInt16(1024 + i),
                      virtualAddress: IPAddress(ipv4: 0xCB00_7100 &+ UInt32(i)), virtualPort: 80, now: UInt64(i))
        }
    }

    @Test(arguments: SchedulerKind.allCases)
    func onlyTheServerNotOverloadedIsChosen(kind: SchedulerKind) {
        for flags: SchedulerFlags in [[], [.fallback]] {
            for survivor in 0..<4 {
                var servers = (0..<4).map {
                    F.server(Int32(1 + $0), active: Int32($0 == survivor ? 1 : 0), overloaded: $0 != survivor, index: $0)
                }
                var scheduler = RealServerPool.with(&servers) { SchedulerInstance(kind: kind, pool: $0, flags: flags) }
                var picked = 0
                for flow in Self.flows() {
                    let pick = RealServerPool.with(&servers) { scheduler.select(from: $0, flow: flow) }
                    #expect(pick == nil || pick == survivor, "\(kind) picked \(pick!) with survivor \(survivor)")
                    if pick != nil { picked += 1 }
                }
                if Self.exhaustive.contains(kind) || flags.contains(.fallback) && [.sourceHashing, .maglevHashing].contains(kind) {
                    #expect(picked == Self.flows().count, "\(kind) \(flags) found \(survivor) only \(picked) times")
                }
            }
        }
    }

    @Test(arguments: SchedulerKind.allCases)
    func everyServerOverloadedMeansNoServer(kind: SchedulerKind) {
        var servers = (0..<4).map { F.server(Int32(1 + $0), overloaded: true, index: $0) }
        for flags: SchedulerFlags in [[], [.fallback], [.port]] {
            var scheduler = RealServerPool.with(&servers) { SchedulerInstance(kind: kind, pool: $0, flags: flags) }
            for flow in Self.flows() {
                #expect(RealServerPool.with(&servers) { scheduler.select(from: $0, flow: flow) } == nil)
            }
        }
    }

    @Test func everyIPVSSchedulerHasItsIpvsadmName() {
        #expect(SchedulerKind.allCases.map(\.rawValue)
            == ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "fo", "ovf", "twos", "lblc", "lblcr", "mh"])
    }
}
