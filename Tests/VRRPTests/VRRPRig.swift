import Testing
import VRRP
import Wire

/// Nanoseconds from seconds, for readable times in tests.
func s(_ seconds: Double) -> UInt64 { UInt64((seconds * 1_000_000_000).rounded()) }

let me = IPAddress("198.18.0.2")!
let peerLow = IPAddress("198.18.0.1")!
let peerHigh = IPAddress("198.18.0.3")!
let vip = VRRPVirtualAddress(IPAddress("198.18.0.10")!)

/// An instance as the seeds write it: d0, VRID 51, v2, PASS 1111, advert_int 1, one VIP.
func instance(_ name: String = "VI_1", priority: UInt8 = 100, version: VRRPVersion = .v2, interval: UInt16 = 100,
              initial: VRRPInitialState = .backup, vrid: UInt8 = 51, interface: String = "d0",
              configure: (inout VRRPInstanceConfig) -> Void = { _ in }) -> VRRPInstanceConfig {
    var c = VRRPInstanceConfig(name: name, initialState: initial, interface: interface, virtualRouterID: vrid, priority: priority,
                               advertisementInterval: interval, version: version,
                               authentication: version == .v2 ? .password("1111") : .none, virtualAddresses: [vip],
                               sourceAddress: me)
    configure(&c)
    return c
}

/// An advert as a peer sends it for `instance()`.
func advert(from source: IPAddress, priority: UInt8, version: VRRPVersion = .v2, vrid: UInt8 = 51, interval: UInt16 = 100,
            configure: (inout VRRPReceivedAdvert) -> Void = { _ in }) -> VRRPReceivedAdvert {
    var a = VRRPReceivedAdvert(interface: "d0", source: source, destination: VRRPAdvertisement.ipv4Group, version: version,
                               virtualRouterID: vrid, priority: priority,
                               authType: version == .v2 ? .simpleText : .none,
                               authData: version == .v2 ? VRRPAdvertisement.authData(password: "1111") : 0,
                               intervalCentiseconds: interval, addresses: [vip.address])
    configure(&a)
    return a
}

/// A router with a clock: events at given times, timers fired in order in between.
struct Rig {
    var router: VRRPRouter
    var now: UInt64 = 0
    /// Everything returned so far, with when.
    var log: [(UInt64, VRRPAction)] = []

    init(_ instances: [VRRPInstanceConfig], scripts: [VRRPScriptConfig] = [], groups: [VRRPSyncGroupConfig] = []) {
        router = VRRPRouter(config: VRRPConfig(instances: instances, scripts: scripts, syncGroups: groups))
    }

    init(_ config: VRRPInstanceConfig) { self.init([config]) }

    /// Fires every timer due up to `time`, in order, then sets the clock to `time`.
    @discardableResult
    mutating func advance(to time: UInt64) -> [VRRPAction] {
        var out: [VRRPAction] = []
        while let d = router.nextDeadline, d <= time {
            now = max(now, d)
            let actions = router.handle(.timer, now: now)
            out += actions
            log += actions.map { (now, $0) }
        }
        now = time
        return out
    }

    /// Fires timers up to `time`, then handles `event` at `time`; returns only the event's actions.
    @discardableResult
    mutating func at(_ time: UInt64, _ event: VRRPEvent) -> [VRRPAction] {
        advance(to: time)
        let actions = router.handle(event, now: time)
        log += actions.map { (time, $0) }
        return actions
    }

    func state(_ name: String = "VI_1") -> VRRPState { status(name).state }
    func status(_ name: String = "VI_1") -> VRRPInstanceStatus { router.status.first { $0.name == name }! }

    /// Every transition logged so far: (time, instance, new state, reason).
    var transitions: [(UInt64, String, VRRPState, String)] {
        log.compactMap { t, a in
            if case .stateChanged(let name, _, let to, let reason) = a { return (t, name, to, reason) }
            return nil
        }
    }
}

extension [VRRPAction] {
    var transitions: [(String, VRRPState, String)] {
        compactMap { if case .stateChanged(let n, _, let to, let r) = $0 { return (n, to, r) } else { return nil } }
    }
    var adverts: [UInt8] {
        compactMap { if case .sendAdvertisement(_, let p) = $0 { return p } else { return nil } }
    }
}
