/// What `lvsd lab` builds, as data: namespaces, links, addresses, routes, the director's
/// rules file and the real servers' settings. Pure (no syscalls, no processes), so the
/// topology can be read and checked without root; `LabNetwork` carries it out.
///
/// Two shapes, after the seeds' hand-built labs (../shared/seeds/):
/// - NAT and FullNAT, "two-arm": client ── director eth0 | director eth1 ── switch ── rs1..3.
///   NAT real servers route everything through the director (their default gateway);
///   FullNAT real servers have no route to the client network at all, only their own subnet.
/// - DR and TUN, "one LAN": client, director eth0 and rs1..3 on one bridge, as in the DR
///   seed: the real servers answer the client directly from the VIP they hold on `lo`.
/// The bridge lives in a fifth namespace (`-switch`), so nothing is created in the root one.
/// Addresses come only from 198.18.0.0/15 (RFC 2544) and 2001:db8::/32 (RFC 3849).
public struct LabPlan: Equatable {
    public enum Mode: String, CaseIterable, Sendable {
        case nat, dr, fullnat, tun

        /// ipvsadm's forwarding-method flag for `-a` lines.
        var methodFlag: String {
            switch self {
            case .nat: "-m"
            case .dr: "-g"
            case .fullnat: "-b"
            case .tun: "-i"
            }
        }

        /// ipvsadm -L's Forward column.
        var forwardName: String {
            switch self {
            case .nat: "Masq"
            case .dr: "Route"
            case .fullnat: "FullNat"
            case .tun: "Tunnel"
            }
        }

        /// Whether the real servers share the client's LAN (DR, TUN) or sit behind the director.
        var oneLAN: Bool { self == .dr || self == .tun }

        /// DR and TUN cannot map ports (the real server sees the VIP's port); NAT and FullNAT
        /// map VIP:80 to RIP:8080 to show they can.
        var realServerPort: Int { oneLAN ? 80 : 8080 }
    }

    struct Node: Equatable {
        var name: String
        var namespace: String
    }

    /// One veth pair: `name` in `namespace`, `peer` in `peerNamespace`.
    struct Link: Equatable {
        var namespace: String
        var name: String
        var mac: String?
        var peerNamespace: String
        var peer: String
        var peerMAC: String?
    }

    struct RealServer: Equatable {
        var name: String
        var namespace: String
        var address: String
        var port: Int
        var mac: String
    }

    /// How the virtual service schedules during one phase of a run: what `-s`, `-w` and `-p`
    /// say in the rules file. A run starts with the main phase; each `--then` phase restarts
    /// lvsd with its own rules in the same namespaces.
    public struct Phase: Equatable, Sendable {
        var scheduler: String
        /// Per real server, in order (`-w`); nil: 1 each.
        var weights: [Int]?
        /// Persistence timeout in seconds (`-p`); nil: not persistent.
        public var persistence: Int?

        init(scheduler: String = "rr", weights: [Int]? = nil, persistence: Int? = nil) {
            self.scheduler = scheduler
            self.weights = weights
            self.persistence = persistence
        }

        /// The weight of real server `i` (1-based).
        func weight(_ i: Int) -> Int { weights.map { $0[i - 1] } ?? 1 }

        /// Parses `--then`'s `SCHEDULER[:W1,W2,W3][:pSECONDS]` (e.g. `wrr:3,2,1`, `rr:p300`);
        /// nil when it is not that shape. Ranges are checked by `LabCommand.validate`.
        public init?(spec: String) {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard let name = parts.first, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
            self.init(scheduler: name)
            for part in parts.dropFirst() {
                if part.hasPrefix("p"), let seconds = Int(part.dropFirst()), persistence == nil {
                    persistence = seconds
                } else if weights == nil, let list = LabPlan.parseWeights(part) {
                    weights = list
                } else {
                    return nil
                }
            }
        }

        /// The spec `init?(spec:)` reads back.
        var spec: String {
            scheduler + (weights.map { ":" + $0.map(String.init).joined(separator: ",") } ?? "")
                + (persistence.map { ":p\($0)" } ?? "")
        }
    }

    public let id: String
    let mode: Mode
    let ipv6: Bool
    /// The phase the run starts with (requests, then UDP and the transfer if asked for).
    let phase: Phase
    /// Also a UDP service (`-u`) on the same VIP and port, to the real servers' UDP responders.
    let udp: Bool
    let prefix: String
    /// Also an FTP service (seed 003, `LabFTP.swift`).
    var ftp = false

    /// Real servers in this lab: `realServerCount` unless a seed's lab asks for its own number.
    public let serverCount: Int

    /// `namespacePrefix` starts every namespace's name (`lvsl` for `lvsd lab`; the tests give
    /// their own so a run is recognisably theirs).
    public init(id: String, mode: Mode, ipv6: Bool, scheduler: String = "rr", weights: [Int]? = nil,
         persistence: Int? = nil, udp: Bool = false, servers: Int = LabPlan.realServerCount, namespacePrefix: String = "lvsl") {
        self.id = id
        self.mode = mode
        self.ipv6 = ipv6
        phase = Phase(scheduler: scheduler, weights: weights, persistence: persistence)
        self.udp = udp
        serverCount = max(1, min(servers, 9))
        prefix = "\(namespacePrefix)-\(id)-"
    }

    var scheduler: String { phase.scheduler }
    var weights: [Int]? { phase.weights }
    var persistence: Int? { phase.persistence }

    /// `w1,w2,w3`: one weight from 0 to 65535 per real server, in order; nil otherwise.
    public static func parseWeights(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == realServerCount, parts.allSatisfy({ $0 != nil && (0...65535).contains($0!) }) else { return nil }
        return parts.map { $0! }
    }

    // MARK: Names

    var client: String { prefix + "client" }
    var director: String { prefix + "director" }
    var switchNamespace: String { prefix + "switch" }
    func realServerNamespace(_ i: Int) -> String { prefix + "rs\(i)" }
    public static let realServerCount = 3
    public var namespaces: [String] {
        [client, director, switchNamespace] + (1...serverCount).map(realServerNamespace)
    }

    /// The director's interfaces, in the order the rules file declares them.
    var directorInterfaces: [String] { mode.oneLAN ? ["eth0"] : ["eth0", "eth1"] }

    // MARK: Addresses

    /// 198.18.0.0/24 and 2001:db8::/64: the client side (and the whole LAN for DR, TUN).
    /// 198.18.1.0/24 and 2001:db8:1::/64: the real servers' subnet behind the director.
    private var serverV4: String { mode.oneLAN ? "198.18.0" : "198.18.1" }
    private var serverV6: String { mode.oneLAN ? "2001:db8:" : "2001:db8:1:" }

    var vip: String { ipv6 ? "2001:db8::10" : "198.18.0.10" }
    var vipPrefixLength: Int { ipv6 ? 128 : 32 }
    var clientAddress: String { ipv6 ? "2001:db8::2" : "198.18.0.2" }
    var vport: Int { 80 }
    /// FullNAT's local address, on the real servers' subnet so they reach it on-link.
    var localAddress: String? { localAddress(phase: 1) }

    /// Each phase's lvsd gets its own LIP (…100 for the first, …101 for the second, …): a
    /// restarted lvsd hands out local ports from the start of its range again, and the real
    /// servers still hold the previous phase's connections from those LIP:port pairs in
    /// TIME_WAIT (60 s); a SYN that lands on one is answered with an ACK, the client resets
    /// it, and the retried SYN is scheduled a second time, which skews the spread.
    func localAddress(phase: Int) -> String? {
        guard mode == .fullnat else { return nil }
        return ipv6 ? "2001:db8:1::\(99 + phase)" : "198.18.1.\(99 + phase)"
    }
    /// The director's address the real servers use as gateway (NAT).
    var directorServerSide: String { ipv6 ? "\(serverV6):1" : "\(serverV4).1" }

    func realServerAddress(_ i: Int, ipv6 v6: Bool) -> String {
        v6 ? "\(serverV6):1\(i)" : "\(serverV4).1\(i)"
    }

    /// Deterministic MACs (locally administered, 02:4c:53 = "LS"): the lab sets them when it
    /// creates the veths and reads them back before writing the rules file.
    static func mac(_ host: Int, _ index: Int) -> String {
        "02:4c:53:00:\(hex(host)):\(hex(index))"
    }
    private static func hex(_ v: Int) -> String {
        let s = String(v, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    var realServers: [RealServer] {
        (1...serverCount).map { i in
            RealServer(name: "rs\(i)", namespace: realServerNamespace(i),
                       address: realServerAddress(i, ipv6: ipv6), port: mode.realServerPort,
                       mac: Self.mac(0x10 + i, 0))
        }
    }

    /// The veth pairs. Bridge ports are named after what they connect to.
    var links: [Link] {
        var links: [Link] = []
        if mode.oneLAN {
            links.append(Link(namespace: client, name: "eth0", mac: Self.mac(2, 0), peerNamespace: switchNamespace, peer: "client", peerMAC: nil))
            links.append(Link(namespace: director, name: "eth0", mac: Self.mac(1, 0), peerNamespace: switchNamespace, peer: "director", peerMAC: nil))
        } else {
            links.append(Link(namespace: client, name: "eth0", mac: Self.mac(2, 0), peerNamespace: director, peer: "eth0", peerMAC: Self.mac(1, 0)))
            links.append(Link(namespace: director, name: "eth1", mac: Self.mac(1, 1), peerNamespace: switchNamespace, peer: "director", peerMAC: nil))
        }
        for rs in realServers {
            links.append(Link(namespace: rs.namespace, name: "eth0", mac: rs.mac, peerNamespace: switchNamespace, peer: rs.name, peerMAC: nil))
        }
        return links
    }

    /// `(namespace, interface, address/prefix)`; both families are always configured, the
    /// service and the requests use the family chosen with --ipv6.
    var addresses: [(namespace: String, interface: String, cidr: String)] {
        var list: [(String, String, String)] = [
            (client, "eth0", "198.18.0.2/24"), (client, "eth0", "2001:db8::2/64"),
            (director, "eth0", "198.18.0.1/24"), (director, "eth0", "2001:db8::1/64"),
        ]
        if !mode.oneLAN {
            list += [(director, "eth1", "198.18.1.1/24"), (director, "eth1", "2001:db8:1::1/64")]
        }
        for i in 1...serverCount {
            list += [(realServerNamespace(i), "eth0", "\(realServerAddress(i, ipv6: false))/24"),
                     (realServerNamespace(i), "eth0", "\(realServerAddress(i, ipv6: true))/64")]
        }
        return list.map { (namespace: $0.0, interface: $0.1, cidr: $0.2) }
    }

    /// The director's IPv4 address on the real servers' LAN: the outer source of its IPIP.
    var directorServerSideIPv4: String { mode.oneLAN ? "198.18.0.1" : "198.18.1.1" }

    /// `ip route add` arguments per namespace. The client reaches the VIP on-link (the
    /// director answers ARP/ND for it); NAT real servers send everything to the director;
    /// FullNAT and the one-LAN modes need nothing beyond their connected subnets.
    var routes: [(namespace: String, arguments: [String])] {
        guard mode == .nat else { return [] }
        return (1...serverCount).flatMap { i in
            [(namespace: realServerNamespace(i), arguments: ["default", "via", "198.18.1.1"]),
             (namespace: realServerNamespace(i), arguments: ["-6", "default", "via", "2001:db8:1::1"])]
        }
    }

    // MARK: The director's rules file

    private func endpoint(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// The rules file for `lvsd run`. `macs` maps "namespace/interface" to the MAC the kernel
    /// reports. Real servers are resolved by lvsd itself (ARP, IPv6 neighbour solicitation)
    /// unless `pinNeighbours`; the client's IPv6 MAC is pinned (lvsd answers the client's
    /// solicitations but does not solicit clients). `phase` and `number` (1-based) pick the
    /// scheduling and the LIP; the main phase is the default.
    func rulesFile(macs: [String: String], pinNeighbours: Bool, phase: Phase? = nil, number: Int = 1) -> String {
        let phase = phase ?? self.phase
        var lines = ["# lvsd lab \(id): \(mode.rawValue)\(ipv6 ? " over IPv6" : ""), phase \(number) (\(phase.spec)), written by 'lvsd lab'"]
        let interfaceAddresses: [String: [String]] = mode.oneLAN
            ? ["eth0": ["198.18.0.1", "2001:db8::1"]]
            : ["eth0": ["198.18.0.1", "2001:db8::1"], "eth1": ["198.18.1.1", "2001:db8:1::1"]]
        for name in directorInterfaces {
            let mac = macs["\(director)/\(name)"] ?? "00:00:00:00:00:00"
            let addresses = interfaceAddresses[name, default: []].map { "address \($0)" }.joined(separator: " ")
            lines.append("interface \(name) mac \(mac) \(addresses)")
        }
        let serverInterface = directorInterfaces.last!
        if pinNeighbours {
            for rs in realServers {
                let mac = macs["\(rs.namespace)/eth0"] ?? rs.mac
                lines.append("neighbour \(rs.address) mac \(mac) interface \(serverInterface)")
            }
        }
        if pinNeighbours || ipv6 {
            if !mode.oneLAN {
                let mac = macs["\(client)/eth0"] ?? Self.mac(2, 0)
                lines.append("neighbour \(clientAddress) mac \(mac) interface eth0")
            }
        }
        let service = endpoint(vip, vport)
        let persistent = phase.persistence.map { " -p \($0)" } ?? ""
        for proto in udp ? ["-t", "-u"] : ["-t"] {
            lines.append("-A \(proto) \(service) -s \(phase.scheduler)\(persistent)")
            for (i, rs) in realServers.enumerated() {
                lines.append("-a \(proto) \(service) -r \(endpoint(rs.address, rs.port)) \(mode.methodFlag) -w \(phase.weight(i + 1))")
            }
            if let lip = localAddress(phase: number) {
                lines.append("--add-laddr -z \(lip) \(proto) \(service)")
            }
        }
        if ftp { lines += ftpRules }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The page each real server serves: its name and address, one line.
    func page(for rs: RealServer) -> String { "\(rs.name) \(rs.address)\n" }

    /// The URL the client requests.
    var url: String { "http://\(endpoint(vip, vport))/" }

    /// The command that removes a lab left running with --keep.
    var teardownCommand: String { "lvsd lab --teardown \(id)" }
}
