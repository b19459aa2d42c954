import VRRP
import Wire

/// Two directors' VRRP on one segment, on a virtual clock: each `VRRPRouter` decides, every
/// advert it sends is written by `VRRPAdvertisement.emit`, read back by the wire parser and
/// handed to the other router, as the sockets would. No sockets, no namespaces, no root:
/// the same run every time, so the HA learn page (Docs/learn/ha.md, `lvsd lab --ha
/// --timeline`) shows exactly what the current code does, to the millisecond.
///
/// The pair is seed 002's: Dserver1 198.18.0.134 `state MASTER priority 100`, Dserver2
/// 198.18.0.137 `state BACKUP priority 90`, VRID 51, `advert_int 1`, PASS `1111`, VIP
/// 198.18.0.133.
public struct VRRPTimeline {
    /// How the master leaves.
    public enum Stop: String, Sendable, CaseIterable {
        /// SIGTERM (`systemctl stop`): a priority-0 advert on the way out (RFC 3768 §6.4.3).
        case shutdown
        /// SIGKILL or a pulled cable: silence until Master_Down_Interval runs out.
        case kill
    }

    struct Director {
        let label: String
        let address: IPAddress
        var router: VRRPRouter
        var config: VRRPInstanceConfig
        var alive = true
    }

    var directors: [Director]
    var now: UInt64 = 0
    public private(set) var lines: [String] = []
    /// Adverts printed in full (bytes) before the rest are shown as one line each.
    var dumped = 0
    /// Directors whose periodic advert has been shown since the last transition: the same
    /// advert every second is shown once ("every 1 s from here").
    var shown: Set<Int> = []

    static let vip = IPAddress("198.18.0.133")!
    static let nanosecondsPerMillisecond: UInt64 = 1_000_000

    public init() {
        func config(_ address: IPAddress, priority: UInt8, initial: VRRPInitialState) -> VRRPInstanceConfig {
            VRRPInstanceConfig(name: "LVS", initialState: initial, interface: "eno16777736", virtualRouterID: 51, priority: priority,
                               advertisementInterval: 100, version: .v2, authentication: .password("1111"),
                               virtualAddresses: [VRRPVirtualAddress(Self.vip)], sourceAddress: address)
        }
        let a = IPAddress("198.18.0.134")!, b = IPAddress("198.18.0.137")!
        let ca = config(a, priority: 100, initial: .master), cb = config(b, priority: 90, initial: .backup)
        directors = [Director(label: "Dserver1", address: a, router: VRRPRouter(config: VRRPConfig(instances: [ca])), config: ca),
                     Director(label: "Dserver2", address: b, router: VRRPRouter(config: VRRPConfig(instances: [cb])), config: cb)]
    }

    /// Starts both at 0, stops Dserver1 at `stopAt` nanoseconds the way `stop` says, and
    /// runs until `end` (past the new master's second gratuitous ARP burst). Returns the
    /// lines: time, director, what happened.
    public static func run(stop: Stop, stopAt: UInt64 = 8_000_000_000, end: UInt64 = 18_000_000_000) -> [String] {
        var t = VRRPTimeline()
        t.handle(0, .start)
        t.handle(1, .start)
        while true {
            let next = t.directors.indices.filter { t.directors[$0].alive }
                .compactMap { i in t.directors[i].router.nextDeadline.map { (i, $0) } }
                .min { $0.1 < $1.1 }
            let stopDue = t.directors[0].alive && stopAt <= (next?.1 ?? .max)
            if stopDue {
                t.now = stopAt
                switch stop {
                case .shutdown:
                    t.note(0, "lvsd stops (SIGTERM)")
                    t.handle(0, .shutdown)
                case .kill:
                    t.note(0, "lvsd killed (SIGKILL): no more adverts")
                }
                t.directors[0].alive = false
                continue
            }
            guard let (i, deadline) = next, deadline <= end else { break }
            t.now = max(t.now, deadline)
            t.handle(i, .timer)
        }
        return t.lines
    }

    mutating func handle(_ i: Int, _ event: VRRPEvent) {
        let actions = directors[i].router.handle(event, now: now)
        for action in actions { perform(i, action) }
    }

    mutating func perform(_ i: Int, _ action: VRRPAction) {
        switch action {
        case .sendAdvertisement(_, let priority):
            let c = directors[i].config
            var bytes = [UInt8](repeating: 0, count: VRRPAdvertisement.length(version: c.version, addressCount: c.virtualAddresses.count, isIPv6: false))
            let source = directors[i].address, group = VRRPAdvertisement.ipv4Group
            let length = bytes.withUnsafeMutableBytes { raw in
                VRRPAdvertisement.emit(into: raw.baseAddress!, version: c.version, virtualRouterID: c.virtualRouterID, priority: priority,
                                       intervalCentiseconds: c.advertisementInterval, addresses: c.virtualAddresses.map(\.address),
                                       authType: c.authentication.type, authData: c.authentication.data, source: source, destination: group)
            }
            let repeated = shown.contains(i) && priority != 0
            shown.insert(i)
            var text = "VRRP advert \(source) > \(group) ttl 255: v2 vrid \(c.virtualRouterID) prio \(priority) auth PASS int 1 s addrs \(Self.vip)"
            if priority == 0 { text += " (priority 0: \"I am leaving\")" }
            if priority != 0 { text += ", every 1 s from here" }
            if dumped < 1 || priority == 0 {
                dumped += 1
                text += "\n" + Self.pad + "bytes: " + bytes.prefix(length).map { Self.hex($0) }.joined(separator: " ")
            }
            if !repeated { note(i, text) }
            // The segment: the other director's socket reads the same bytes.
            for j in directors.indices where j != i && directors[j].alive {
                let received = bytes.withUnsafeMutableBytes { raw -> VRRPReceivedAdvert? in
                    guard let view = try? VRRPAdvertisement(raw.baseAddress!, length: length, source: source, destination: group) else { return nil }
                    return VRRPReceivedAdvert(view, interface: "eno16777736", source: source, destination: group, ttl: VRRPAdvertisement.ttl)
                }
                if let received { handle(j, .advertisement(received)) }
            }
        case .sendGratuitous(_, let count):
            note(i, "\(count) gratuitous ARPs: \(Self.vip) is-at \(directors[i].label)'s MAC (the client and the switch update their tables)")
        case .stateChanged(_, let from, let to, let reason):
            shown = shown.filter { $0 == i }
            note(i, "\(from) -> \(to): \(reason)")
        case .groupStateChanged, .runNotify:
            break
        }
    }

    mutating func note(_ i: Int, _ text: String) {
        let ms = now / Self.nanosecondsPerMillisecond
        let time = "\(ms / 1000).\(String(ms % 1000).leftPadded(3)) s"
        lines.append(time.leftPadded(9, with: " ") + "  " + directors[i].label + "  " + text)
    }

    static let pad = String(repeating: " ", count: 9 + 2 + 8 + 2)

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int, with fill: Character = "0") -> String {
        count >= width ? self : String(repeating: fill, count: width - count) + self
    }
}
