import Foundation

/// The `--break` exercises: leave one step out, record the symptom while lvsd runs, apply
/// the fix, and judge both.
extension LabExercise {
    /// Leaves the exercise's step out, after `lvsd realserver` and the network set it up.
    func breakStep(_ b: LabScenario.Break) throws {
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
            case .tunVIP:
                // lvsd realserver runs in the background: take the VIP off once it has put it on.
                let device = LabScenario.tunnelDevice
                let deadline = Date().addingTimeInterval(15)
                while !(try shell.run(["ip", "-n", rs.namespace, "-o", "-4", "address", "show", "dev", device], check: false).output
                    .contains(" \(plan.vip)/32 ")) {
                    guard Date() < deadline else {
                        throw LabShell.Failure(command: ["lvsd", "realserver"], status: -1, output: "\(rs.name): no \(plan.vip) on \(device) after 15 s")
                    }
                    usleep(100_000)
                }
                try shell.run(["ip", "-n", rs.namespace, "address", "del", "\(plan.vip)/32", "dev", device])
            }
        }
        run.log("  exercise: left out on every real server: \(b.leftOut)")
        if b == .vipOnLo { addressErrors.before = try inAddrErrors() }
        if b == .tunVIP { ipBefore = try ipCounters() }
    }

    /// With the broken phase's lvsd still running: records the symptom, then applies the fix.
    func observeAndFix(_ b: LabScenario.Break) throws {
        switch b {
        case .arp:
            neighbourBefore = try shell.run(["ip", "-n", plan.client, "neigh", "show", plan.vip], check: false).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            arpBefore = try arpAnswers()
        case .vipOnLo:
            addressErrors.after = try inAddrErrors()
        case .tunVIP:
            ipAfter = try ipCounters()
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
            case .tunVIP:
                try shell.run(["ip", "-n", rs.namespace, "address", "add", "\(plan.vip)/32", "dev", LabScenario.tunnelDevice])
            }
        }
        if b == .arp {
            try shell.run(["ip", "-n", plan.client, "neigh", "flush", "dev", "eth0"])
            arpAfter = try arpAnswers()
        }
    }

    /// Sends one ARP request for the VIP from the client and lists every MAC that answers
    /// within 1.5 s, in the order the answers arrived.
    func arpAnswers() throws -> [String] {
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
    func inAddrErrors() throws -> Int { try ipCounter("InAddrErrors") }

    /// Every `Ip:` counter of /proc/net/snmp, summed over the real servers.
    func ipCounters() throws -> [String: Int] {
        var totals: [String: Int] = [:]
        for rs in plan.realServers {
            let snmp = try shell.run(in: rs.namespace, ["cat", "/proc/net/snmp"]).output
            let ip = snmp.split(separator: "\n").filter { $0.hasPrefix("Ip: ") }.map { $0.split(separator: " ") }
            guard ip.count >= 2 else { continue }
            for (name, value) in zip(ip[0].dropFirst(), ip[1].dropFirst()) { totals[String(name), default: 0] += Int(value) ?? 0 }
        }
        return totals
    }

    /// One `Ip:` counter of /proc/net/snmp, summed over the real servers.
    func ipCounter(_ name: String) throws -> Int {
        var total = 0
        for rs in plan.realServers {
            let snmp = try shell.run(in: rs.namespace, ["cat", "/proc/net/snmp"]).output
            let ip = snmp.split(separator: "\n").filter { $0.hasPrefix("Ip: ") }.map { $0.split(separator: " ") }
            guard ip.count >= 2, let column = ip[0].firstIndex(of: Substring(name)), column < ip[1].count,
                  let value = Int(ip[1][column]) else { continue }
            total += value
        }
        return total
    }

    func macName(_ mac: String) -> String {
        if mac == LabPlan.mac(1, 0) { return "director \(mac)" }
        if let rs = plan.realServers.first(where: { $0.mac == mac }) { return "\(rs.name) \(mac)" }
        return mac
    }

    func breakChecks(_ b: LabScenario.Break, report: LabReport) -> [LabCheck] {
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
        case .tunVIP:
            let rose = ipAfter.keys.sorted().compactMap { k -> String? in
                let d = (ipAfter[k] ?? 0) - (ipBefore[k] ?? 0)
                return d > 0 ? "\(k) +\(d)" : nil
            }.joined(separator: ", ")
            let rise = { [self] (name: String) in (ipAfter[name] ?? 0) - (ipBefore[name] ?? 0) }
            // Both the tunnel packets and the decapsulated ones reach the real servers' IP layer
            // (InReceives); only the tunnel packets are delivered, to `lvsd realserver`'s raw
            // sockets (InDelivers): the decapsulated ones are for no address of theirs.
            checks.append(LabCheck(
                what: "symptom: the director tunnels, the real servers receive the packets and deliver none of the decapsulated ones (the VIP is not theirs)",
                held: broken.failed == broken.requests && brokenConnections >= broken.requests
                    && rise("InReceives") > 0 && rise("InDelivers") < rise("InReceives"),
                detail: "\(broken.requests) requests, \(broken.failed) failed; lvsd scheduled \(brokenConnections) connections; "
                    + "the real servers' IP counters: \(rose)"))
        }
        checks.append(LabCheck(
            what: "fixed: every request answered through the director",
            held: fixed.failed == 0 && fixed.unexpected.isEmpty && fixedConnections >= fixed.requests,
            detail: "\(fixed.requests) requests, \(fixed.failed) failed, lvsd counted \(fixedConnections) connections; \(spread(fixed))"))
        return checks
    }

    func listingLines(_ phase: LabReport.Phase) -> [String] {
        (phase.director?.listing ?? []).filter { $0.contains("->") && !$0.contains("RemoteAddress") }
            .map { $0.split(separator: " ").joined(separator: " ") }
    }
}
