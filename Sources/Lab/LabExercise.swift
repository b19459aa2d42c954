import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The teaching labs on top of `lvsd lab`: the seeds' hand-built labs, one command each
/// (`--seed`), and the classroom exercises that leave one step out (`--break`). Each builds
/// the usual lab, runs its checks against what the namespaces, the real servers and lvsd
/// report, prints them, and ends with one `verdict:` line.
///
/// The seeds are the blog posts in the project's seed material: seed 000 (NAT and DR with
/// ipvsadm, two web servers each), seed 003 (TurboLinux Cluster Server: four web servers,
/// direct routing, sticky HTTP, ping checks, the Windows server's loopback adapter with mask
/// 255.255.255.255). Their addresses are mapped into 198.18.0.0/15.
public enum LabScenario: Equatable, Sendable {
    case seed(Seed)
    case breakStep(Break)

    public enum Seed: String, CaseIterable, Sendable {
        case nat000 = "000-nat"
        case dr000 = "000-dr"
        case turbolinux003 = "003"
    }

    public enum Break: String, CaseIterable, Sendable {
        case arp
        case gateway
        case vipOnLo = "vip-on-lo"
    }

    public init?(seed: String) {
        guard let s = Seed(rawValue: seed) else { return nil }
        self = .seed(s)
    }

    public init?(break name: String) {
        guard let b = Break(rawValue: name) else { return nil }
        self = .breakStep(b)
    }

    public var name: String {
        switch self {
        case .seed(let s): "seed \(s.rawValue)"
        case .breakStep(let b): "break \(b.rawValue)"
        }
    }

    var mode: LabPlan.Mode {
        switch self {
        case .seed(.nat000), .breakStep(.gateway): .nat
        case .seed(.dr000), .seed(.turbolinux003), .breakStep(.arp), .breakStep(.vipOnLo): .dr
        }
    }

    var servers: Int {
        switch self {
        case .seed(.nat000), .seed(.dr000): 2
        case .seed(.turbolinux003): 4
        case .breakStep: LabPlan.realServerCount
        }
    }

    /// Seed 003's "http, 80: TCP, sticky".
    var persistence: Int? { self == .seed(.turbolinux003) ? 300 : nil }

    /// Requests per phase: enough to see the spread, few because a broken phase waits out
    /// curl's 2 s connect timeout for each.
    var requests: Int {
        switch self {
        case .seed(.turbolinux003): 8
        case .seed: 4
        case .breakStep: 3
        }
    }

    /// What `--step` says before each stage.
    func explanation(_ stage: LabStage, plan: LabPlan) -> String {
        let rips = plan.realServers.map(\.address).joined(separator: ", ")
        switch (stage, self) {
        case (.network, .seed(.nat000)), (.network, .breakStep(.gateway)):
            return "Stage 1, the network. As in seed 000's NAT lab: the director has two legs, the client side (198.18.0.0/24, the VIP \(plan.vip)) and the real servers' private subnet (198.18.1.0/24). The real servers get the director (198.18.1.1) as their default gateway: 'route add default gw'."
        case (.network, _):
            return "Stage 1, the network. As in the seed's DR lab: client, director and real servers on one LAN (198.18.0.0/24, a bridge in its own namespace). The director answers ARP for the VIP \(plan.vip); the real servers will hold it too, on lo."
        case (.realServers, .breakStep(.arp)):
            return "Stage 2, the real servers (\(rips)): web servers that name themselves, the VIP on lo, and this time arp_ignore/arp_announce left at the kernel's defaults (0): the exercise."
        case (.realServers, .breakStep(.vipOnLo)):
            return "Stage 2, the real servers (\(rips)): web servers, arp_ignore=1 and arp_announce=2, and this time no VIP on lo: the exercise."
        case (.realServers, .breakStep(.gateway)):
            return "Stage 2, the real servers (\(rips)): web servers on port 8080 (NAT maps VIP:80 to RIP:8080), and this time without the default route through the director: the exercise."
        case (.realServers, _) where mode == .dr:
            return "Stage 2, the real servers (\(rips)): a web server each, serving a page with its own name ('curl http://VIP' tells them apart), and 'lvsd realserver --mode dr': the VIP on lo as a /32 (ifconfig lo:0 VIP netmask 255.255.255.255), arp_ignore=1 and arp_announce=2 so only the director answers ARP for the VIP."
        case (.realServers, _):
            return "Stage 2, the real servers (\(rips)): a web server each on port 8080, serving a page with its own name, their default route through the director."
        case (.director, _):
            let sticky = persistence.map { ", persistent \($0) s (sticky)" } ?? ""
            return "Stage 3, the director: lvsd with the seed's ipvsadm lines ('-A -t \(plan.vip):80 -s rr\(sticky)', one '-a ... \(plan.mode.methodFlag)' per real server). lvsd forwards in user space, so the director needs no ip_forward and no kernel IPVS."
        case (.requests, _):
            return "Stage 4, the test the seed's author did by hand: 'curl http://\(plan.vip)' from the client, \(requests) times, each a new connection."
        case (.laterPhase, .breakStep(let b)):
            return "Stage 5, the fix: \(Self.fixText(b, plan: plan)); lvsd is restarted and the same requests sent again."
        case (.laterPhase, _):
            return "Next phase."
        }
    }

    static func fixText(_ b: Break, plan: LabPlan) -> String {
        switch b {
        case .arp: "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 on each real server, then the client forgets the wrong ARP answer (ip neigh flush)"
        case .gateway: "ip route add default via 198.18.1.1 on each real server"
        case .vipOnLo: "ip address add \(plan.vip)/32 dev lo on each real server"
        }
    }
}

/// One check: what the seed's author (or the exercise) looked at, and what this run saw.
struct LabCheck {
    var what: String
    var held: Bool
    var detail: String
    /// Something shown, not judged (what lvsd counted while broken, which depends on which
    /// ARP answer the client kept); not part of the verdict.
    var isNote = false

    var line: String { "  \(isNote ? "seen  " : held ? "held  " : "FAILED") \(what): \(detail)" }
}

/// Runs one `LabScenario` and prints its checks and verdict.
public final class LabExercise {
    public let scenario: LabScenario
    public let run: LabRun
    let plan: LabPlan
    let shell: LabShell
    let step: Bool
    /// What the exercise saw in the broken state, for the checks after the run.
    private var arpBefore: [String] = []
    private var arpAfter: [String] = []
    private var neighbourBefore = ""
    private var addressErrors: (before: Int, after: Int) = (0, 0)

    /// `step`: explain each stage first; wait for Enter only when standard input is a terminal.
    public init(scenario: LabScenario, id: String, shell: LabShell, engine: String, namespacePrefix: String = "lvsl", step: Bool) {
        self.scenario = scenario
        self.shell = shell
        self.step = step
        plan = LabPlan(id: id, mode: scenario.mode, ipv6: false, persistence: scenario.persistence,
                       servers: scenario.servers, namespacePrefix: namespacePrefix)
        run = LabRun(plan: plan, shell: shell, engine: engine, workers: 1, pinNeighbours: false, quiet: false)
    }

    public var namespaces: [String] { plan.namespaces }

    /// Builds and runs the lab, prints the report, the checks and the verdict line; returns
    /// whether the verdict is a pass. The caller cleans up (`run.cleanUp()`).
    public func execute() throws -> Bool {
        if step {
            run.stage = { [self] stage in explain(stage) }
        }
        var later: [LabPlan.Phase] = []
        if case .breakStep(let b) = scenario {
            later = [plan.phase]
            run.afterRealServers = { [self] in try breakStep(b) }
            run.beforeLaterPhase = { [self] _ in try observeAndFix(b) }
        }
        let report = try run.execute(requests: scenario.requests, then: later)
        print("")
        print(report.text)
        let checks: [LabCheck]
        switch scenario {
        case .seed(let seed): checks = try seedChecks(seed, report: report)
        case .breakStep(let b): checks = breakChecks(b, report: report)
        }
        print("")
        print(scenario.heading)
        for check in checks { print(check.line) }
        let judged = checks.filter { !$0.isNote }
        let held = judged.filter(\.held).count
        let passed = held == judged.count
        print("")
        print("verdict: \(scenario.name) \(passed ? (scenario.isBreak ? "PASSED: the failure showed and the fix worked" : "PASSED: every check held") : "FAILED") (\(held) of \(judged.count) checks held)")
        return passed
    }

    private func explain(_ stage: LabStage) {
        print("")
        print(wrap(scenario.explanation(stage, plan: plan)))
        if isatty(STDIN_FILENO) == 1 {
            print("  [press Enter to continue]", terminator: "")
            fflush(nil)
            _ = readLine()
        }
        fflush(nil)
    }

    private func wrap(_ text: String, width: Int = 92) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > width {
                lines.append(line)
                line = "  "
            } else if !line.isEmpty && line != "  " {
                line += " "
            }
            line += word
        }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    // MARK: Seeds

    private func seedChecks(_ seed: LabScenario.Seed, report: LabReport) throws -> [LabCheck] {
        var checks: [LabCheck] = []
        let main = report.main
        let listing = main.director?.listing ?? []
        let forward = plan.mode.forwardName
        let listed = plan.realServers.filter { rs in
            listing.contains { $0.contains("-> \(rs.address):\(rs.port)") && $0.contains(forward) }
        }
        let serviceLine = listing.first { $0.contains("TCP  \(plan.vip):\(plan.vport)") } ?? "(no service line)"
        checks.append(LabCheck(
            what: "ipvsadm -l -n lists TCP \(plan.vip):\(plan.vport) with \(plan.serverCount) real servers, Forward \(forward)",
            held: listed.count == plan.serverCount && serviceLine.contains(" rr"),
            detail: "\(serviceLine.trimmingCharacters(in: .whitespaces)); \(listed.count) '\(forward)' lines"))
        let spread = main.responses.map { "\($0.address) \($0.count)" }.joined(separator: ", ")
        if seed == .turbolinux003 {
            let servedBy = main.responses.filter { $0.count > 0 }
            checks.append(LabCheck(
                what: "sticky HTTP: every request from the one client lands on the same web server",
                held: main.failed == 0 && servedBy.count == 1 && servedBy[0].count == main.requests,
                detail: "\(main.requests) requests, \(main.failed) failed; \(spread)"))
            for rs in plan.realServers {
                let ping = try shell.run(in: plan.director, [LabRun.python, "-c", Self.ping, rs.address], check: false)
                checks.append(LabCheck(what: "the cluster manager's ping check of \(rs.name)", held: ping.status == 0,
                                       detail: ping.status == 0 ? "\(rs.address) answers ping from the director" : "no answer from \(rs.address)"))
            }
        } else {
            let even = main.requests / plan.serverCount
            checks.append(LabCheck(
                what: "curl http://\(plan.vip) shows each web server's test page in turn (rr)",
                held: main.failed == 0 && main.responses.allSatisfy { $0.count == even },
                detail: "\(main.requests) requests, \(main.failed) failed; \(spread)"))
        }
        if plan.mode == .nat {
            for rs in plan.realServers {
                let route = try shell.run(["ip", "-n", rs.namespace, "route", "show", "default"], check: false).output
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                checks.append(LabCheck(what: "\(rs.name)'s default gateway is the director ('route add default gw 198.18.1.1')",
                                       held: route.contains("via 198.18.1.1"), detail: route.isEmpty ? "no default route" : route))
            }
        } else {
            for rs in plan.realServers {
                let lo = try shell.run(["ip", "-n", rs.namespace, "-o", "-4", "address", "show", "dev", "lo"], check: false).output
                let ignore = try sysctl(rs.namespace, "net.ipv4.conf.all.arp_ignore")
                let announce = try sysctl(rs.namespace, "net.ipv4.conf.all.arp_announce")
                let onLo = lo.contains(" \(plan.vip)/32 ")
                checks.append(LabCheck(
                    what: "\(rs.name): VIP on lo with mask 255.255.255.255, arp_ignore=1, arp_announce=2",
                    held: onLo && ignore == "1" && announce == "2",
                    detail: "\(onLo ? "\(plan.vip)/32 on lo" : "VIP not on lo"), arp_ignore=\(ignore), arp_announce=\(announce)"))
            }
        }
        let peers = report.realServers.flatMap(\.httpPeers)
        let sawClient = !peers.isEmpty && peers.allSatisfy { $0 == plan.clientAddress }
        checks.append(LabCheck(what: "the web servers' logs show the client's own address (\(plan.clientAddress))",
                               held: sawClient, detail: peers.isEmpty ? "no request logged" : Array(Set(peers)).sorted().joined(separator: ", ")))
        return checks
    }

    /// One ICMP echo request (RFC 792) and up to 2 s for its reply; exits 0 when it came.
    /// The lab needs python3 anyway, and not every host has ping installed.
    static let ping = """
        import os,socket,struct,sys,time
        def checksum(b):
            s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16
            return ~s&0xffff
        s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)
        ident=os.getpid()&0xffff
        body=struct.pack('!BBHHH',8,0,0,ident,1)+b'lvsd lab ping check'+b'\\0'
        s.sendto(body[:2]+struct.pack('!H',checksum(body))+body[4:],(sys.argv[1],0))
        end=time.time()+2
        while time.time()<end:
            s.settimeout(max(0.01,end-time.time()))
            try: d,a=s.recvfrom(1500)
            except socket.timeout: break
            h=(d[0]&15)*4
            if a[0]==sys.argv[1] and d[h]==0 and struct.unpack('!H',d[h+4:h+6])[0]==ident: sys.exit(0)
        sys.exit(1)
        """

    private func sysctl(_ namespace: String, _ name: String) throws -> String {
        try shell.run(in: namespace, ["sysctl", "-n", name], check: false).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Breaks

    /// Leaves the exercise's step out, after `lvsd realserver` and the network set it up.
    private func breakStep(_ b: LabScenario.Break) throws {
        for rs in plan.realServers {
            switch b {
            case .arp:
                try shell.run(in: rs.namespace, ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0",
                                                 "net.ipv4.conf.eth0.arp_ignore=0", "net.ipv4.conf.eth0.arp_announce=0"])
            case .gateway:
                try shell.run(["ip", "-n", rs.namespace, "route", "del", "default"])
                try shell.run(["ip", "-6", "-n", rs.namespace, "route", "del", "default"])
            case .vipOnLo:
                try shell.run(["ip", "-n", rs.namespace, "address", "del", "\(plan.vip)/32", "dev", "lo"])
            }
        }
        run.log("  exercise: left out on every real server: \(b.leftOut)")
        if b == .vipOnLo { addressErrors.before = try inAddrErrors() }
    }

    /// With the broken phase's lvsd still running: records the symptom, then applies the fix.
    private func observeAndFix(_ b: LabScenario.Break) throws {
        switch b {
        case .arp:
            neighbourBefore = try shell.run(["ip", "-n", plan.client, "neigh", "show", plan.vip], check: false).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            arpBefore = try arpAnswers()
        case .vipOnLo:
            addressErrors.after = try inAddrErrors()
        case .gateway:
            break
        }
        run.log("  exercise: applying the fix: \(LabScenario.fixText(b, plan: plan))")
        for rs in plan.realServers {
            switch b {
            case .arp:
                try shell.run(in: rs.namespace, ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"])
            case .gateway:
                for route in plan.routes where route.namespace == rs.namespace {
                    let family = route.arguments.first == "-6" ? ["-6"] : []
                    try shell.run(["ip"] + family + ["-n", rs.namespace, "route", "add"] + route.arguments.drop(while: { $0 == "-6" }))
                }
            case .vipOnLo:
                try shell.run(["ip", "-n", rs.namespace, "address", "add", "\(plan.vip)/32", "dev", "lo"])
            }
        }
        if b == .arp {
            try shell.run(["ip", "-n", plan.client, "neigh", "flush", "dev", "eth0"])
            arpAfter = try arpAnswers()
        }
    }

    /// Sends one ARP request for the VIP from the client and lists every MAC that answers
    /// within 1.5 s, in the order the answers arrived.
    private func arpAnswers() throws -> [String] {
        let script = """
            import socket,struct,sys,time
            ifname,target,sender=sys.argv[1],socket.inet_aton(sys.argv[2]),socket.inet_aton(sys.argv[3])
            s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(0x0806))
            s.bind((ifname,0))
            mac=s.getsockname()[4]
            s.send(b'\\xff'*6+mac+b'\\x08\\x06'+struct.pack('!HHBBH',1,0x0800,6,4,1)+mac+sender+b'\\x00'*6+target)
            s.settimeout(0.1)
            end=time.time()+1.5
            seen=[]
            while time.time()<end:
                try: d=s.recv(128)
                except socket.timeout: continue
                if len(d)>=42 and d[12:14]==b'\\x08\\x06' and d[20:22]==b'\\x00\\x02' and d[28:32]==target:
                    m=':'.join('%02x'%b for b in d[22:28])
                    if m not in seen: seen.append(m); print(m,flush=True)
            """
        let out = try shell.run(in: plan.client, [LabRun.python, "-c", script, "eth0", plan.vip, plan.clientAddress]).output
        return out.split(separator: "\n").map(String.init)
    }

    /// The real servers' IP InAddrErrors summed: packets for an address the host does not
    /// have, dropped because it does not forward (/proc/net/snmp, per namespace).
    private func inAddrErrors() throws -> Int {
        var total = 0
        for rs in plan.realServers {
            let snmp = try shell.run(in: rs.namespace, ["cat", "/proc/net/snmp"]).output
            let ip = snmp.split(separator: "\n").filter { $0.hasPrefix("Ip: ") }.map { $0.split(separator: " ") }
            guard ip.count >= 2, let column = ip[0].firstIndex(of: "InAddrErrors"), column < ip[1].count,
                  let value = Int(ip[1][column]) else { continue }
            total += value
        }
        return total
    }

    private func macName(_ mac: String) -> String {
        if mac == LabPlan.mac(1, 0) { return "director \(mac)" }
        if let rs = plan.realServers.first(where: { $0.mac == mac }) { return "\(rs.name) \(mac)" }
        return mac
    }

    private func breakChecks(_ b: LabScenario.Break, report: LabReport) -> [LabCheck] {
        let broken = report.phases[0], fixed = report.phases[report.phases.count - 1]
        let brokenConnections = broken.director?.totals["connections"] ?? 0
        let fixedConnections = fixed.director?.totals["connections"] ?? 0
        var checks: [LabCheck] = []
        let spread = { (p: LabReport.Phase) in p.responses.map { "\($0.address) \($0.count)" }.joined(separator: ", ") }
        switch b {
        case .arp:
            let serverMACs = Set(plan.realServers.map(\.mac))
            checks.append(LabCheck(
                what: "symptom: real servers answer the client's ARP request for the VIP",
                held: arpBefore.contains { serverMACs.contains($0) },
                detail: "answers from " + (arpBefore.isEmpty ? "nobody" : arpBefore.map(macName).joined(separator: ", "))
                    + "; the client's entry: \(neighbourBefore.isEmpty ? "none" : neighbourBefore)"))
            checks.append(LabCheck(
                what: "while broken, lvsd (a real server's ARP answer sends the client around it)",
                held: true,
                detail: "\(broken.requests) requests, \(broken.failed) failed, lvsd counted \(brokenConnections) connections; \(spread(broken))",
                isNote: true))
            checks.append(LabCheck(
                what: "fixed: only the director answers ARP for the VIP",
                held: arpAfter == [LabPlan.mac(1, 0)],
                detail: "answers from " + (arpAfter.isEmpty ? "nobody" : arpAfter.map(macName).joined(separator: ", "))))
        case .gateway:
            checks.append(LabCheck(
                what: "symptom: requests time out, replies never come back through the director",
                held: broken.failed == broken.requests && brokenConnections >= broken.requests,
                detail: "\(broken.requests) requests, \(broken.failed) failed; lvsd scheduled \(brokenConnections) connections and saw no reply "
                    + "(listing: \(listingLines(broken).joined(separator: " | ")))"))
        case .vipOnLo:
            let dropped = addressErrors.after - addressErrors.before
            checks.append(LabCheck(
                what: "symptom: the director forwards, the real servers drop every frame (not their address)",
                held: broken.failed == broken.requests && brokenConnections >= broken.requests && dropped > 0,
                detail: "\(broken.requests) requests, \(broken.failed) failed; lvsd scheduled \(brokenConnections) connections; "
                    + "the real servers' IpInAddrErrors rose by \(dropped)"))
        }
        checks.append(LabCheck(
            what: "fixed: every request answered through the director",
            held: fixed.failed == 0 && fixed.unexpected.isEmpty && fixedConnections >= fixed.requests,
            detail: "\(fixed.requests) requests, \(fixed.failed) failed, lvsd counted \(fixedConnections) connections; \(spread(fixed))"))
        return checks
    }

    private func listingLines(_ phase: LabReport.Phase) -> [String] {
        (phase.director?.listing ?? []).filter { $0.contains("->") && !$0.contains("RemoteAddress") }
            .map { $0.split(separator: " ").joined(separator: " ") }
    }
}

extension LabScenario {
    var isBreak: Bool {
        if case .breakStep = self { return true }
        return false
    }

    var heading: String {
        switch self {
        case .seed(.nat000): "Seed 000, NAT lab: what the author checked by hand, and whether it held:"
        case .seed(.dr000): "Seed 000, DR lab: what the author checked by hand, and whether it held:"
        case .seed(.turbolinux003): "Seed 003, four web servers (TurboLinux Cluster Server): what the author set up and checked, and whether it held:"
        case .breakStep(let b): "Exercise '\(b.rawValue)': \(b.leftOut) left out. The failure, then the fix (\(b == .arp ? "DR" : b == .gateway ? "NAT" : "DR")):"
        }
    }
}

extension LabScenario.Break {
    var leftOut: String {
        switch self {
        case .arp: "arp_ignore=1 and arp_announce=2"
        case .gateway: "the default route through the director"
        case .vipOnLo: "the VIP on lo"
        }
    }
}
