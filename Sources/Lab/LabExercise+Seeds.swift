import Foundation

/// The seeds' labs: what each author checked by hand, judged against what this lab shows.
extension LabExercise {
    func seedChecks(_ seed: LabScenario.Seed, report: LabReport) throws -> [LabCheck] {
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
            checks += ftpChecks(run.ftpFetches)
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

    func sysctl(_ namespace: String, _ name: String) throws -> String {
        try shell.run(in: namespace, ["sysctl", "-n", name], check: false).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
