import Foundation

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
        /// TUN: the real servers without the VIP on their tunnel device.
        case tunVIP = "tun-vip"
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
        case .breakStep(.tunVIP): .tun
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
        case (.network, .seed(.turbolinux003)):
            return "Stage 1, the network. Seed 003 (TurboLinux Cluster Server): the traffic manager and four web servers (pc1..pc4, here rs1..rs4) on one switch, each server set to 'direct' forwarding with a 'ping' check; the client plugs into the same switch and asks for the VIP \(plan.vip)."
        case (.network, .breakStep(.tunVIP)):
            return "Stage 1, the network. The TUN lab: the director has the client side (198.18.0.0/24, the VIP \(plan.vip)) and the real servers' subnet (198.18.1.0/24), and reaches the real servers by IPIP: each packet for the VIP goes inside an outer IPv4 header addressed to the real server."
        case (.network, _):
            return "Stage 1, the network. As in the seed's DR lab: client, director and real servers on one LAN (198.18.0.0/24, a bridge in its own namespace). The director answers ARP for the VIP \(plan.vip); the real servers will hold it too, on lo."
        case (.realServers, .breakStep(.arp)):
            return "Stage 2, the real servers (\(rips)): web servers that name themselves, the VIP on lo, and this time arp_ignore/arp_announce left at the kernel's defaults (0): the exercise."
        case (.realServers, .breakStep(.vipOnLo)):
            return "Stage 2, the real servers (\(rips)): web servers, arp_ignore=1 and arp_announce=2, and this time no VIP on lo: the exercise."
        case (.realServers, .breakStep(.tunVIP)):
            return "Stage 2, the real servers (\(rips)): web servers and 'lvsd realserver --mode tun' (IPIP decapsulated into its tunnel device \(LabScenario.tunnelDevice)), and this time the VIP taken off \(LabScenario.tunnelDevice): the exercise."
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
        case .tunVIP: "ip address add \(plan.vip)/32 dev \(tunnelDevice) on each real server"
        }
    }

    /// The TUN device `lvsd realserver --mode tun` decapsulates into (RealServerPlan's).
    static let tunnelDevice = "lvstun0"
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
        case .breakStep(let b): "Exercise '\(b.rawValue)': \(b.leftOut) left out. The failure, then the fix (\(b == .gateway ? "NAT" : b == .tunVIP ? "TUN" : "DR")):"
        }
    }
}

extension LabScenario.Break {
    var leftOut: String {
        switch self {
        case .arp: "arp_ignore=1 and arp_announce=2"
        case .gateway: "the default route through the director"
        case .vipOnLo: "the VIP on lo"
        case .tunVIP: "the VIP on the tunnel device (\(LabScenario.tunnelDevice))"
        }
    }
}
