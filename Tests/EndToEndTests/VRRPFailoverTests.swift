import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two lvsd directors running VRRP between themselves (issue 14): MASTER priority 150, BACKUP
/// priority 100, on one bridge segment with the client and two DR real servers, kernel defaults
/// everywhere. The backup answers no ARP for the VIP and forwards nothing; SIGTERM on the master
/// (priority 0 advert) hands the VIP over after Skew_Time, SIGKILL within Master_Down_Interval;
/// either way the client's ARP entry moves to the new master (gratuitous ARP) and requests work.
@Suite(.serialized)
struct VRRPFailoverTests {
    @Test(.enabled(if: getuid() == 0, "VRRPFailoverTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(3)))
    func lvsdPairFailsOverOnSIGTERMAndSIGKILL() throws {
        let lab = try VRRPLab()
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()

        // A first, so it is MASTER before B listens (B would win the empty segment otherwise,
        // and be preempted a moment later: correct, but slower).
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 10)
        // Well past B's Master_Down_Interval: no dual master.
        usleep(4_500_000)
        #expect(lab.state(.a) == "MASTER")
        #expect(lab.state(.b) == "BACKUP")
        print("VRRPFailoverTests: lvsadm --vrrp on A:\n\(lab.vrrpListing(.a))lvsadm --vrrp on B:\n\(lab.vrrpListing(.b))")

        // Only the master answers ARP for the VIP.
        let answering = try lab.arpReplies()
        #expect(answering == [lab.mac(.a)], "ARP replies for the VIP from \(answering); A is \(lab.mac(.a)), B is \(lab.mac(.b))")
        let before = try lab.requests(10)
        #expect(before.failed == 0, "through the master: \(before)")
        #expect(Set(before.answers) == ["real-server-1", "real-server-2"], "\(before)")
        #expect(try lab.clientNeighbour() == lab.mac(.a))

        // The backup forwards nothing, even when the client sends it the VIP's traffic.
        try lab.pinClientNeighbour(to: lab.mac(.b))
        let misdirected = try lab.requests(2, timeout: 1)
        #expect(misdirected.answers.isEmpty, "the backup forwarded: \(misdirected)")
        try lab.unpinClientNeighbour()
        _ = try lab.requests(1)

        // SIGTERM: priority 0 advert, B takes over after Skew_Time ((256 - 100) / 256 s).
        let sigterm = try lab.failover(from: .a, to: .b, signal: SIGTERM, limit: 3)
        #expect(sigterm.seconds < 1.0, "SIGTERM takeover took \(sigterm.seconds) s")
        let logA = lab.log(.a)
        #expect(logA.contains("lvsd: vrrp: VI_1: MASTER -> STOP"), "\(logA)")
        #expect(lab.log(.b).contains("VI_1: BACKUP -> MASTER (priority 0 advert from 198.18.0.11)"), "\(lab.log(.b))")
        #expect(lab.log(.b).contains("lvsd: sent 5 gratuitous ARP (198.18.0.100"), "\(lab.log(.b))")

        // A comes back and preempts (priority 150 > 100, no nopreempt).
        try lab.startDirector(.a, log: "a2")
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.waitForState(.b, "BACKUP", seconds: 3)
        try lab.waitForClientNeighbour(lab.mac(.a), seconds: 3)
        let back = try lab.requests(4)
        #expect(back.failed == 0, "after A preempted: \(back)")

        // SIGKILL: no last advert; B waits out Master_Down_Interval (3 × 1 s + 0.61 s).
        let sigkill = try lab.failover(from: .a, to: .b, signal: SIGKILL, limit: 3 + 0.61 + 0.5 + 0.5)
        #expect(lab.log(.b).contains("master down interval expired"), "\(lab.log(.b))")
        print("VRRPFailoverTests: takeover after SIGTERM \(String(format: "%.3f", sigterm.seconds)) s (client on the new MAC after \(String(format: "%.3f", sigterm.neighbourSeconds)) s); after SIGKILL \(String(format: "%.3f", sigkill.seconds)) s (client after \(String(format: "%.3f", sigkill.neighbourSeconds)) s)")

        let stopB = try lab.stopDirector(.b)
        print("VRRPFailoverTests: B's VRRP summary:\n" + stopB.split(separator: "\n").filter { $0.contains("vrrp") }.joined(separator: "\n"))
        #expect(stopB.contains("lvsd: vrrp instances (lvsadm --vrrp):"), "\(stopB)")
        #expect(stopB.contains("vip-on-standby"), "B dropped the misdirected requests by name: \(stopB)")
    }
}

extension VRRPFailoverTests {
    /// `vrrp_sync_group` (keepalived's vrrp_sync.c): VI_1 and VI_2 in group G1 on both
    /// directors, VI_2 tracking A's interface d1 (one end of a veth pair in A's namespace). d1 going down puts VI_2 in
    /// FAULT and VI_1 with it although d0 is fine, so B takes both VIPs; d1 back up, A takes
    /// both back (priority 150 > 100). The two members never part on either director.
    @Test(.enabled(if: getuid() == 0, "VRRPFailoverTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(3)))
    func syncGroupMembersChangeStateTogether() throws {
        let lab = try VRRPLab()
        lab.variant = "syncgroup"
        defer { lab.tearDown() }
        try lab.build()
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.waitForState(.a, "MASTER", instance: "VI_2", seconds: 5)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 10)
        try lab.waitForState(.b, "BACKUP", instance: "VI_2", seconds: 5)

        try Command.ip(["-n", lab.ns("a"), "link", "set", "d1", "down"])
        try lab.waitForState(.a, "FAULT", instance: "VI_2", seconds: 5)
        try lab.waitForState(.a, "FAULT", seconds: 2)
        try lab.waitForState(.b, "MASTER", seconds: 3 + 0.61 + 1.5)
        try lab.waitForState(.b, "MASTER", instance: "VI_2", seconds: 1)
        #expect(lab.log(.a).contains("VI_1: MASTER -> FAULT (sync group G1: VI_2 is FAULT)"), "\(lab.log(.a))")
        #expect(lab.log(.a).contains("lvsd: vrrp: sync group G1: FAULT"), "\(lab.log(.a))")

        try Command.ip(["-n", lab.ns("a"), "link", "set", "d1", "up"])
        try lab.waitForState(.a, "MASTER", instance: "VI_2", seconds: 10)
        try lab.waitForState(.a, "MASTER", seconds: 2)
        try lab.waitForState(.b, "BACKUP", seconds: 3)
        try lab.waitForState(.b, "BACKUP", instance: "VI_2", seconds: 1)
        // Never one member MASTER and the other not for longer than a transition: every
        // logged move of one member is followed by the same move of the other.
        for d in [VRRPLab.Director.a, .b] {
            let moves = lab.log(d).split(separator: "\n").filter { $0.contains("lvsd: vrrp: VI_") && $0.contains(" -> ") }
            let transitions = { (name: String) in
                moves.filter { $0.contains("\(name): ") }.map { $0.components(separatedBy: "\(name): ")[1].split(separator: " ").prefix(3).joined(separator: " ") }
            }
            let one = transitions("VI_1"), two = transitions("VI_2")
            #expect(one == two, "director \(d.rawValue): VI_1 moved \(one), VI_2 moved \(two)\n\(lab.log(d))")
        }
    }

    /// `vrrp_script` and notify scripts through Health's fork/exec: A's tracked script starts
    /// failing, its effective priority drops below B's, B preempts and runs notify_master.
    @Test(.enabled(if: getuid() == 0, "VRRPFailoverTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)))
    func trackedScriptMovesTheVIP() throws {
        let lab = try VRRPLab()
        lab.variant = "scripts"
        defer { lab.tearDown() }
        try lab.build()
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 10)
        let flag = lab.directory.appendingPathComponent("fail").path
        let marker = lab.directory.appendingPathComponent("b-became-master").path
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(lab.vrrpListing(.a).contains(" 150   150 "), "\(lab.vrrpListing(.a))")
        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        try lab.waitForState(.b, "MASTER", seconds: 8)
        try lab.waitForState(.a, "BACKUP", seconds: 2)
        #expect(lab.vrrpListing(.a).contains(" 150   90 "), "effective priority 90: \(lab.vrrpListing(.a))")
        let deadline = Date().addingTimeInterval(3)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: marker), "notify_master ran: \(lab.log(.b))")
        #expect(lab.log(.b).contains("preempting lower priority (90) master 198.18.0.11"), "\(lab.log(.b))")
        // The script succeeds again: A's priority is 150 again and it preempts back.
        try FileManager.default.removeItem(atPath: flag)
        try lab.waitForState(.a, "MASTER", seconds: 8)
        try lab.waitForState(.b, "BACKUP", seconds: 2)
    }

    /// The same pair over VRRP v3 on IPv6 (ff02::12 from the link-local addresses, hop limit
    /// 255 read from ancillary data) and over unicast v2: MASTER and BACKUP settle, no dual
    /// master, SIGTERM hands over after Skew_Time, SIGKILL after Master_Down_Interval.
    @Test(.enabled(if: getuid() == 0, "VRRPFailoverTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)), arguments: ["ipv6", "unicast"])
    func variantsFailOver(_ variant: String) throws {
        let lab = try VRRPLab()
        lab.variant = variant
        defer { lab.tearDown() }
        try lab.build()
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 10)
        usleep(4_500_000)
        #expect(lab.state(.a) == "MASTER" && lab.state(.b) == "BACKUP", "\(lab.vrrpListing(.a))\(lab.vrrpListing(.b))\n\(lab.log(.b))")
        print("VRRPFailoverTests (\(variant)): lvsadm --vrrp on B:\n\(lab.vrrpListing(.b))")
        var start = Date()
        try lab.stopDirector(.a)
        try lab.waitForState(.b, "MASTER", seconds: 2)
        let sigterm = Date().timeIntervalSince(start)
        #expect(lab.log(.b).contains("BACKUP -> MASTER (priority 0 advert from "), "\(lab.log(.b))")
        try lab.startDirector(.a, log: "a2")
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.waitForState(.b, "BACKUP", seconds: 3)
        usleep(1_500_000)
        start = Date()
        try lab.stopDirector(.a, signal: SIGKILL)
        try lab.waitForState(.b, "MASTER", seconds: 3 + 0.61 + 1)
        let sigkill = Date().timeIntervalSince(start)
        let stopB = try lab.stopDirector(.b)
        #expect(!stopB.contains("ttl_error") && !stopB.contains("bad_checksum"), "\(stopB)")
        print("VRRPFailoverTests (\(variant)): takeover after SIGTERM \(String(format: "%.3f", sigterm)) s, after SIGKILL \(String(format: "%.3f", sigkill)) s")
    }

    /// lvsd and Debian's keepalived (VRRP only) on one segment, VRRP v2 with PASS, v3, v3 over
    /// IPv6 (ff02::12 from link-local addresses, an IPv6 VIP), and v2 over unicast peers
    /// (`unicast_src_ip` + `unicast_peer` on both): lvsd MASTER + keepalived BACKUP, then
    /// keepalived MASTER + lvsd BACKUP; neither fights the other while both run (sampled every
    /// half second: 30 s once per version, 8 s otherwise), and each takes over when the other
    /// goes.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: VRRPLab.keepalivedPath),
                   "needs root and Debian's keepalived (apt install keepalived)"),
          .timeLimit(.minutes(3)), arguments: ["ipv4", "v3", "unicast", "ipv6"])
    func interoperatesWithKeepalived(_ variant: String) throws {
        let lab = try VRRPLab()
        lab.variant = variant
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()

        // lvsd MASTER (150), keepalived BACKUP (100).
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 10)
        try lab.startKeepalived(priority: 100, state: "BACKUP")
        try lab.waitForKeepalived("BACKUP", seconds: 10)
        // No dual master, no flapping: every sample has lvsd MASTER and keepalived BACKUP.
        let window: Double = variant == "unicast" || variant == "ipv6" ? 8 : 30
        // ipv6: the instance owns 2001:db8::100 only; the IPv4 service's VIP belongs to no
        // instance, so both directors answer ARP for it: the ARP and request checks are the
        // IPv4 variants' (VRRP states, no dual master and both takeovers are checked here).
        let ipv4 = variant != "ipv6"
        let until = Date().addingTimeInterval(window)
        var samples = 0
        var wrong: [String] = []
        while Date() < until {
            let ours = lab.state(.a), theirs = lab.keepalivedState
            samples += 1
            if ours != "MASTER" || theirs != "BACKUP" { wrong.append("lvsd \(ours ?? "?"), keepalived \(theirs ?? "?")") }
            usleep(500_000)
        }
        #expect(wrong.isEmpty && samples >= Int(window), "\(samples) samples over \(window) s, wrong: \(wrong)\n\(lab.keepalivedText)")
        #expect(lab.keepalivedText.components(separatedBy: "Entering MASTER STATE").count == 1, "keepalived became MASTER while lvsd was: \(lab.keepalivedText)")
        #expect(lab.log(.a).components(separatedBy: "-> MASTER").count == 2, "lvsd left MASTER and came back: \(lab.log(.a))")
        #expect(lab.state(.a) == "MASTER")
        #expect(lab.keepalivedState == "BACKUP", "\(lab.keepalivedText)")
        if ipv4 {
            #expect(try lab.arpReplies() == [lab.mac(.a)])
            #expect(try lab.requests(4).failed == 0)
        }

        // lvsd goes (SIGTERM, priority 0): keepalived takes over after its Skew_Time.
        let start = Date()
        try lab.stopDirector(.a)
        try lab.waitForKeepalived("MASTER", seconds: 3)
        let keepalivedTakeover = Date().timeIntervalSince(start)
        if ipv4 { try lab.waitForClientNeighbour(lab.mac(.b), seconds: 3) }

        // lvsd back at priority 50: BACKUP under keepalived's master, no fight.
        try lab.startDirector(.a, log: "a2", priority: 50)
        try lab.waitForState(.a, "BACKUP", seconds: 10)
        usleep(8_000_000)
        #expect(lab.state(.a) == "BACKUP", "\(lab.log(.a))")
        #expect(lab.keepalivedState == "MASTER", "\(lab.keepalivedText)")
        #expect(lab.log(.a).components(separatedBy: "-> MASTER").count == 1, "lvsd never became MASTER: \(lab.log(.a))")

        // keepalived crashes (SIGKILL): lvsd takes over after Master_Down_Interval.
        let killed = Date()
        try lab.stopKeepalived(signal: SIGKILL)
        try lab.waitForState(.a, "MASTER", seconds: 3 + 0.81 + 1.5)
        let lvsdTakeover = Date().timeIntervalSince(killed)
        if ipv4 {
            try lab.waitForClientNeighbour(lab.mac(.a), seconds: 3)
            let after = try lab.requests(4)
            #expect(after.failed == 0, "through lvsd after keepalived died: \(after)")
        }
        #expect(!lab.keepalivedText.contains("bad checksum") && !lab.keepalivedText.contains("invalid"), "\(lab.keepalivedText)")
        print("VRRPFailoverTests (keepalived, \(variant)): keepalived took over \(String(format: "%.3f", keepalivedTakeover)) s after lvsd's SIGTERM; lvsd took over \(String(format: "%.3f", lvsdTakeover)) s after keepalived's SIGKILL")
    }
}

/// Six namespaces: a bridge (`sw`), the client, directors A and B, and two DR real servers,
/// all on 198.18.0.0/24 through the bridge. VIP 198.18.0.100; the real servers hold it on `lo`
/// with arp_ignore/arp_announce as LVS-DR wants. Names start with `lvst-PID-labhavrrp-`.
private final class VRRPLab {
    enum Director: String { case a, b }

    let lab: NamespaceLab
    var directory: URL { lab.directory }
    private var directors: [Director: NamespaceLab.Director] = [:]
    private var logs: [Director: URL] = [:]
    private var macs: [Director: String] = [:]
    let lvsd: String
    let lvsadm: String
    /// "ipv4" (v2 multicast), "v3" (v3 multicast, IPv4), "ipv6" (v3 over ff02::12), "unicast"
    /// (v2 to the peer's address).
    var variant = "ipv4"
    func ns(_ name: String) -> String { lab.namespace(name) }
    func ns(_ d: Director) -> String { lab.namespace(d.rawValue) }
    func address(_ d: Director) -> String { d == .a ? "198.18.0.11" : "198.18.0.12" }
    func socket(_ d: Director) -> String { directory.appendingPathComponent("\(d.rawValue).sock").path }

    init() throws {
        lvsd = try BuiltExecutable.lvsd()
        lvsadm = URL(fileURLWithPath: lvsd).deletingLastPathComponent().appendingPathComponent("lvsadm").path
        lab = try NamespaceLab(tag: "havrrp")
    }

    /// A `NamespaceLab` LAN: client c0 198.18.0.2, directors A and B (d0 .11 and .12), DR real
    /// servers r1 and r2 (e0 .21 and .22, the VIP 198.18.0.100 on lo), all in 198.18.0.0/24.
    func build() throws {
        try lab.buildLAN([.init("c", "c0", "198.18.0.2/24"), .init("a", "d0", "198.18.0.11/24"), .init("b", "d0", "198.18.0.12/24"),
                          .init("r1", "e0", "198.18.0.21/24"), .init("r2", "e0", "198.18.0.22/24")],
                         // Link-local addresses usable at once (VRRP v3 speaks from them).
                         ipv6: variant == "ipv6" ? .withoutDAD : .off)
        for r in ["r1", "r2"] { try lab.addDRVirtualAddress("198.18.0.100", in: ns(r), interface: "e0") }
        if variant == "syncgroup" {
            for d in [Director.a, .b] {
                // A link of its own to track: a veth pair inside the director's namespace.
                try lab.addVeth(.init(ns(d), "d1"), .init(ns(d), "d1p"))
            }
        }
        for d in [Director.a, .b] {
            let (_, out, _) = try lab.run(in: ns(d), ["/bin/cat", "/sys/class/net/d0/address"])
            macs[d] = out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func mac(_ d: Director) -> String { macs[d] ?? "?" }

    /// `python3 -m http.server 80` in each real server (all addresses, the VIP on lo included).
    func startHTTPServers() throws {
        for i in 1...2 {
            let root = directory.appendingPathComponent("www\(i)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try "real-server-\(i)\n".write(to: root.appendingPathComponent("who"), atomically: true, encoding: .utf8)
            try lab.start(in: ns("r\(i)"), ["/usr/bin/python3", "-m", "http.server", "80"], directory: root)
        }
        for i in 1...2 {
            try waitUntil("real server \(i) serves HTTP") {
                (try? lab.run(in: ns("c"), ["/usr/bin/curl", "-s", "-m", "1", "http://198.18.0.2\(i)/who"]).0) == 0
            }
        }
    }

    func config(_ d: Director, priority: Int? = nil) -> String {
        """
        ! lvsd VRRP e2e, director \(d.rawValue)
        \(variant == "scripts" && d == .a ? "vrrp_script chk_fail {\n    script \"/usr/bin/test ! -e \(directory.path)/fail\"\n    interval 1\n    weight -60\n}" : "")
        lvsd_director {
            interface d0 mac 00:00:00:00:00:00 address \(address(d))
        }
        vrrp_instance VI_1 {
            state \(d == .a ? "MASTER" : "BACKUP")
            interface d0
            virtual_router_id 51
            priority \(priority ?? (d == .a ? 150 : 100))
            advert_int 1
        \(variantLines(d))
        }
        \(variant == "syncgroup" ? syncGroupBlocks(d) : "")
        virtual_server 198.18.0.100 80 {
            lb_algo rr
            lb_kind DR
            protocol TCP
            real_server 198.18.0.21 80 {
                weight 1
            }
            real_server 198.18.0.22 80 {
                weight 1
            }
        }

        """
    }

    /// "syncgroup": a second instance tracking d1, and both in one group.
    func syncGroupBlocks(_ d: Director) -> String {
        """
        vrrp_instance VI_2 {
            state \(d == .a ? "MASTER" : "BACKUP")
            interface d0
            virtual_router_id 52
            priority \(d == .a ? 150 : 100)
            advert_int 1
            track_interface {
                d1
            }
            virtual_ipaddress {
                198.18.0.101/24
            }
        }
        vrrp_sync_group G1 {
            group {
                VI_1
                VI_2
            }
        }
        """
    }

    /// The instance's lines that differ between variants.
    func variantLines(_ d: Director) -> String {
        switch variant {
        case "ipv6":
            return "    version 3\n    virtual_ipaddress {\n        2001:db8::100/64\n    }"
        case "v3":
            return "    version 3\n    virtual_ipaddress {\n        198.18.0.100/24\n    }"
        case "unicast":
            return "    unicast_src_ip \(address(d))\n    unicast_peer {\n        \(address(d == .a ? .b : .a))\n    }\n"
                + "    authentication {\n        auth_type PASS\n        auth_pass lvsv\n    }\n    virtual_ipaddress {\n        198.18.0.100/24\n    }"
        case "scripts":
            // A tracks a script that fails once DIR/fail exists (weight -60: 150 → 90 < 100);
            // B's notify_master leaves a file behind.
            let dir = directory.path
            return (d == .a ? "    track_script {\n        chk_fail\n    }\n"
                            : "    notify_master \"/usr/bin/touch \(dir)/b-became-master\"\n")
                + "    authentication {\n        auth_type PASS\n        auth_pass lvsv\n    }\n    virtual_ipaddress {\n        198.18.0.100/24\n    }"
        default:
            return "    authentication {\n        auth_type PASS\n        auth_pass lvsv\n    }\n    virtual_ipaddress {\n        198.18.0.100/24\n    }"
        }
    }

    func startDirector(_ d: Director, log name: String? = nil, priority: Int? = nil) throws {
        let logFile = directory.appendingPathComponent("\(name ?? d.rawValue).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        logs[d] = logFile
        directors[d] = try lab.startLVSD(in: ns(d), config: config(d, priority: priority), configName: "\(d.rawValue).conf",
                                         arguments: ["--interface", "d0", "--connections", "65536", "--socket", socket(d)],
                                         log: logFile) { $0.contains("lvsd: vrrp: running VI_1") }
    }

    func log(_ d: Director) -> String {
        logs[d].flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
    }

    /// Signals the director and returns its log once it has exited.
    @discardableResult
    func stopDirector(_ d: Director, signal: Int32 = SIGTERM) throws -> String {
        if let p = directors[d], p.isRunning {
            kill(p.pid, signal)
            try waitUntil("lvsd \(d.rawValue) exits after signal \(signal)") { !p.isRunning }
        }
        directors[d] = nil
        return log(d)
    }

    func vrrpListing(_ d: Director) -> String {
        (try? Command.run(lvsadm, ["--socket", socket(d), "--vrrp"]).stdout) ?? ""
    }

    /// An instance's state as `lvsadm --vrrp` lists it.
    func state(_ d: Director, instance: String = "VI_1") -> String? {
        for line in vrrpListing(d).split(separator: "\n") where line.hasPrefix("\(instance) ") {
            return line.split(separator: " ").dropFirst().first.map(String.init)
        }
        return nil
    }

    func waitForState(_ d: Director, _ state: String, instance: String = "VI_1", seconds: Double) throws {
        try waitUntil("director \(d.rawValue)'s \(instance) is \(state) (lvsadm --vrrp: \(vrrpListing(d)); log: \(log(d)))", seconds: seconds) {
            self.state(d, instance: instance) == state
        }
    }

    struct Takeover {
        var seconds: Double
        var neighbourSeconds: Double
    }

    /// Signals `from`, then times `to` becoming MASTER (lvsadm --vrrp every ~20 ms) and the
    /// client's ARP entry for the VIP reaching `to`'s MAC; then requests must succeed.
    func failover(from: Director, to: Director, signal: Int32, limit: Double) throws -> Takeover {
        guard let p = directors[from] else { throw Command.Failed(description: "director \(from) is not running") }
        let start = Date()
        kill(p.pid, signal)
        var master: Double?
        while Date().timeIntervalSince(start) < limit + 2 {
            if state(to) == "MASTER" { master = Date().timeIntervalSince(start); break }
            usleep(10_000)
        }
        guard let master else {
            throw Command.Failed(description: "\(to) not MASTER \(limit + 2) s after signal \(signal) to \(from): \(vrrpListing(to))\n\(log(to))")
        }
        #expect(master <= limit, "takeover after signal \(signal) took \(master) s, more than \(limit) s")
        try waitUntil("lvsd \(from.rawValue) exits") { !p.isRunning }
        directors[from] = nil
        try waitForClientNeighbour(mac(to), seconds: 3)
        let neighbour = Date().timeIntervalSince(start)
        let after = try requests(6)
        #expect(after.failed == 0, "through the new master \(to): \(after)\n\(log(to))")
        #expect(Set(after.answers) == ["real-server-1", "real-server-2"], "\(after)")
        return Takeover(seconds: master, neighbourSeconds: neighbour)
    }

    // MARK: keepalived

    static let keepalivedPath = "/usr/sbin/keepalived"
    private var keepalived: Spawned?
    private var keepalivedLog: URL?

    /// Debian's keepalived, VRRP only (-P), in director B's namespace: the same instance as
    /// lvsd's, at `priority`; its own configuration, pid files and log in the lab's directory.
    func startKeepalived(priority: Int, state: String) throws {
        let file = directory.appendingPathComponent("keepalived.conf")
        try """
            global_defs {
                router_id lvsv_keepalived
            }
            vrrp_instance VI_1 {
                state \(state)
                interface d0
                virtual_router_id 51
                priority \(priority)
                advert_int 1
            \(variantLines(.b))
            }

            """.write(to: file, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("keepalived.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let p = try lab.start(in: ns(.b), [Self.keepalivedPath, "-n", "-l", "-P", "-f", file.path,
                                           "-p", directory.appendingPathComponent("keepalived.pid").path,
                                           "-r", directory.appendingPathComponent("keepalived-vrrp.pid").path],
                              output: .file(logFile))
        keepalived = p
        keepalivedLog = logFile
    }

    var keepalivedText: String { keepalivedLog.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? "" }

    /// keepalived's last "(VI_1) Entering X STATE" line's X.
    var keepalivedState: String? {
        keepalivedText.split(separator: "\n").last { $0.contains("(VI_1) Entering ") }.flatMap { line in
            line.range(of: "Entering ").map { String(line[$0.upperBound...].prefix { $0 != " " }) }
        }
    }

    func waitForKeepalived(_ state: String, seconds: Double) throws {
        try waitUntil("keepalived is \(state) (log: \(keepalivedText))", seconds: seconds) { self.keepalivedState == state }
    }

    /// Signals keepalived (its parent; -P leaves one VRRP child, which follows) and waits.
    func stopKeepalived(signal: Int32) throws {
        guard let p = keepalived else { return }
        if signal == SIGKILL {
            // SIGKILL to the parent would leave the VRRP child running: kill the child, as a crash would.
            let pid = (try? String(contentsOf: directory.appendingPathComponent("keepalived-vrrp.pid"), encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let pid { kill(pid, SIGKILL) }
            kill(p.pid, SIGKILL)
        } else {
            kill(p.pid, signal)
        }
        try waitUntil("keepalived exits") { !p.isRunning }
        keepalived = nil
    }

    // MARK: The client

    struct Requests: CustomStringConvertible {
        var answers: [String] = []
        var failed = 0
        var errors: [String] = []
        var description: String { "\(answers.count) answers \(answers), \(failed) failed \(errors)" }
    }

    /// `count` curl requests to the VIP, one connection each.
    func requests(_ count: Int, timeout: Int = 3) throws -> Requests {
        var r = Requests()
        for _ in 0..<count {
            let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", ns("c"), "/usr/bin/curl", "-s", "-S",
                                                                     "-m", String(timeout), "http://198.18.0.100/who"])
            if status == 0 { r.answers.append(out.trimmingCharacters(in: .whitespacesAndNewlines)) }
            else { r.failed += 1; r.errors.append("curl \(status): \(err.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        return r
    }

    /// The MAC in the client's neighbour entry for the VIP, nil without one.
    func clientNeighbour() throws -> String? {
        let (_, out, _) = try Command.run("/usr/sbin/ip", ["-n", ns("c"), "neigh", "show", "198.18.0.100", "dev", "c0"])
        let words = out.split(separator: " ")
        guard let i = words.firstIndex(of: "lladdr"), i + 1 < words.count else { return nil }
        return String(words[i + 1])
    }

    func waitForClientNeighbour(_ mac: String, seconds: Double) throws {
        try waitUntil("the client's ARP entry for the VIP is \(mac) (is \(String(describing: try? clientNeighbour())))", seconds: seconds) {
            try self.clientNeighbour() == mac
        }
    }

    func pinClientNeighbour(to mac: String) throws {
        try Command.ip(["-n", ns("c"), "neigh", "replace", "198.18.0.100", "lladdr", mac, "dev", "c0", "nud", "permanent"])
    }

    func unpinClientNeighbour() throws {
        try Command.ip(["-n", ns("c"), "neigh", "del", "198.18.0.100", "dev", "c0"])
    }

    /// Sends ARP requests for the VIP from the client (a raw AF_PACKET socket, twice) and
    /// returns the MACs that answered within 1.5 s.
    func arpReplies() throws -> Set<String> {
        let script = """
            import socket, struct, sys, time
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
            s.bind(("c0", 0))
            mac = s.getsockname()[4]
            src, tgt = socket.inet_aton("198.18.0.2"), socket.inet_aton("198.18.0.100")
            request = b"\\xff" * 6 + mac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + b"\\x00" * 6 + tgt
            s.settimeout(0.1)
            seen = set()
            for round in range(2):
                s.send(request)
                end = time.time() + 0.75
                while time.time() < end:
                    try:
                        f = s.recv(100)
                    except socket.timeout:
                        continue
                    if f[12:14] == b"\\x08\\x06" and f[20:22] == b"\\x00\\x02" and f[28:32] == tgt:
                        seen.add(f[22:28].hex(":"))
            print(" ".join(sorted(seen)))
            """
        let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", ns("c"), "/usr/bin/python3", "-c", script])
        guard status == 0 else { throw Command.Failed(description: "ARP probe: \(err)") }
        return Set(out.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    // MARK: Teardown

    func tearDown() {
        if let p = keepalived, p.isRunning { try? stopKeepalived(signal: SIGKILL) }
        directors = [:]
        lab.tearDown()
    }

    private func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        try lab.waitUntil(what(), seconds: seconds, condition)
    }
}
