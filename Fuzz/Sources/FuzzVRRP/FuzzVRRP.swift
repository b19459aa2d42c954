import VRRP
import Wire

// libFuzzer target: a VRRP advertisement as lvsd's router thread receives it
// (VRRPRuntime.receive): the IP payload validated by `VRRPAdvertisement`, then either
// `.advertisement` or `.invalidAdvertisement` into a `VRRPRouter`, with timers fired in
// between. Four routers are kept across inputs (v2 PASS, v3 IPv4 with two addresses and
// preemption off, v3 IPv6, v2 unicast), so sequences of adverts walk their state machines.
//
// Byte 0: bits 0-1 the router, bit 2 the TTL is 255 (else 64), bit 3 the target rewrites
// the checksum so the bytes get past it, bits 4-5 the source (lower than ours, higher,
// equal, a stranger), bits 6-7 how far the clock moves first (0, 0.5 s, 3.7 s, 40 s).
// The rest is the VRRP message.
//
// Besides ASan's and Swift's traps: every instance stays in one of its states, a refused
// advert changes no state, and the next deadline never lies in the past after a timer pass.

struct Rig {
    var router: VRRPRouter
    var now: UInt64 = 1_000_000_000
    let family6: Bool
    let own: IPAddress
    let peers: [IPAddress]
}

let v4 = IPAddress("198.18.0.2")!, v4Low = IPAddress("198.18.0.1")!, v4High = IPAddress("198.18.0.3")!
let v6 = IPAddress("2001:db8::2")!, v6Low = IPAddress("2001:db8::1")!, v6High = IPAddress("2001:db8::3")!
let stranger4 = IPAddress("198.19.9.9")!, stranger6 = IPAddress("2001:db8:9::9")!

func makeRig(_ k: Int) -> Rig {
    let vip4 = VRRPVirtualAddress(IPAddress("198.18.0.10")!), vip4b = VRRPVirtualAddress(IPAddress("198.18.0.11")!)
    let config: VRRPInstanceConfig
    switch k {
    case 0:
        config = VRRPInstanceConfig(name: "VI_v2", interface: "d0", virtualRouterID: 51, priority: 100,
                                    authentication: .password("1111"), virtualAddresses: [vip4], sourceAddress: v4)
    case 1:
        config = VRRPInstanceConfig(name: "VI_v3", initialState: .master, interface: "d0", virtualRouterID: 51, priority: 150,
                                    version: .v3, virtualAddresses: [vip4, vip4b], noPreempt: true, sourceAddress: v4)
    case 2:
        config = VRRPInstanceConfig(name: "VI_v6", interface: "d0", virtualRouterID: 7, priority: 100, version: .v3,
                                    virtualAddresses: [VRRPVirtualAddress(IPAddress("2001:db8::10")!)], sourceAddress: v6)
    default:
        config = VRRPInstanceConfig(name: "VI_uc", interface: "d0", virtualRouterID: 9, priority: 120,
                                    authentication: .password("secret"), virtualAddresses: [vip4], sourceAddress: v4,
                                    unicastPeers: [v4Low, v4High])
    }
    var router = VRRPRouter(config: VRRPConfig(instances: [config]))
    _ = router.handle(.start, now: 1_000_000_000)
    let six = k == 2
    return Rig(router: router, family6: six, own: six ? v6 : v4,
               peers: six ? [v6Low, v6High, v6, stranger6] : [v4Low, v4High, v4, stranger4])
}

nonisolated(unsafe) var rigs: [Rig?] = [nil, nil, nil, nil]

func fireTimers(_ rig: inout Rig) {
    var guardCount = 0
    while let d = rig.router.nextDeadline, d <= rig.now {
        _ = rig.router.handle(.timer, now: rig.now)
        guardCount += 1
        precondition(guardCount < 10_000, "timers do not settle at \(rig.now): next deadline \(String(describing: rig.router.nextDeadline))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1, size <= 4096 else { return 0 }
    let b0 = data[0]
    let k = Int(b0 & 3)
    var rig = rigs[k] ?? makeRig(k)
    let steps: [UInt64] = [0, 500_000_000, 3_700_000_000, 40_000_000_000]
    rig.now &+= steps[Int(b0 >> 6)]
    fireTimers(&rig)

    let source = rig.peers[Int(b0 >> 4) & 3]
    let destination = rig.router.status.first.map { _ in
        rig.family6 ? VRRPAdvertisement.ipv6Group : (k == 3 ? v4 : VRRPAdvertisement.ipv4Group)
    } ?? VRRPAdvertisement.ipv4Group
    let length = size - 1
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(length, 1), alignment: 8)
    defer { buffer.deallocate() }
    buffer.copyMemory(from: data + 1, byteCount: length)
    if b0 & 8 != 0, length >= VRRPAdvertisement.headerLength {
        // The checksum field is bytes 6-7; a v3 sum covers the pseudo-header (RFC 5798 §5.2.8).
        buffer.storeBytes(of: 0, toByteOffset: 6, as: UInt16.self)
        let v3 = buffer.load(as: UInt8.self) >> 4 == 3
        let initial = v3 ? VRRPAdvertisement.pseudoHeaderSum(source: source, destination: destination, length: length) : 0
        let sum = ~Checksum.fold(Checksum.sum(buffer, count: length, initial: initial))
        buffer.storeBytes(of: sum.bigEndian, toByteOffset: 6, as: UInt16.self)
    }
    let ttl: UInt8 = b0 & 4 != 0 ? 255 : 64
    let before = rig.router.status.map(\.state)
    do {
        let view = try VRRPAdvertisement(buffer, length: length, source: source, destination: destination)
        let advert = VRRPReceivedAdvert(view, interface: "d0", source: source, destination: destination, ttl: ttl)
        _ = rig.router.handle(.advertisement(advert), now: rig.now)
    } catch {
        let vrid: UInt8? = length >= 2 ? buffer.load(fromByteOffset: 1, as: UInt8.self) : nil
        _ = rig.router.handle(.invalidAdvertisement(interface: "d0", virtualRouterID: vrid, error), now: rig.now)
        precondition(rig.router.status.map(\.state) == before, "refused bytes (\(error)) changed a state: \(before) -> \(rig.router.status.map(\.state))")
    }
    for status in rig.router.status {
        precondition([.backup, .master, .fault].contains(status.state), "\(status.name) in \(status.state)")
    }
    fireTimers(&rig)
    if let d = rig.router.nextDeadline { precondition(d > rig.now, "deadline \(d) not after \(rig.now)") }
    rigs[k] = rig
    return 0
}
