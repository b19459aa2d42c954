import CLinuxPacket
import Wire

/// The classic BPF program a `PACKET_FANOUT_CBPF` group runs on every received frame to pick
/// the worker (the group member) that gets it, so that both directions of a NAT or FullNAT
/// connection reach the one worker whose connection table holds it (Docs/adr/0002).
///
/// The rules, for a frame with addresses and ports (`fold` of an address: its 32-bit words
/// XORed together, so an IPv4 address folds to itself; `mix(x)`: the high 16 bits of
/// `(x ⊕ key) × 0x9E3779B1` mod 2³², see `mixMultiplier`; `key` is chosen at random when lvsd
/// starts and kept across reloads, so nobody outside can aim a flood of spoofed sources at
/// one worker):
///
/// | frame | worker |
/// | --- | --- |
/// | destination is a VIP (client → director) | `mix(fold(source) ⊕ source port) mod N` |
/// | destination is a FullNAT LIP (real server → LIP:lport) | `lport mod N` |
/// | any other TCP/UDP (a NAT reply RIP → CIP:cport) | `mix(fold(destination) ⊕ destination port) mod N` |
/// | to a persistent service's VIP:vport, or from one of its NAT real servers | `mix(fold(client address & netmask)) mod N` |
/// | to a client-address VIP (any port), or from one of its NAT real servers' addresses (any port) | `mix(fold(client address)) mod N` |
/// | ICMP/ICMPv6 error quoting TCP/UDP | the rules above applied to the quote reversed (as Core looks the connection up, ICMPErrors.swift) |
/// | ARP, non-IP, IPv4 fragments after the first, IPv6 with extension headers, other ICMP, other protocols | 0 |
///
/// The first and third rules compute the same value from the client's endpoint, so a NAT
/// connection's two directions meet; the second matches `LocalPortPool`'s worker slices
/// (worker k hands out only ports ≡ k mod N). The persistence rule keeps all of a client's
/// connections to a persistent service on one worker, so its one template (IPVS keys it by
/// the masked client address) decides them all. The client-address rule is the persistence rule
/// with a full-length mask over every port of a VIP: an FTP session's control and data
/// connections (Docs/ftp.md) differ in both ports, so only the client's address joins them.
///
/// What the kernel hands the program (net/packet/af_packet.c `packet_rcv_fanout` →
/// `fanout_demux_bpf`, which also takes the result mod the group's size): the received skb
/// with its data starting at the network header, the Ethernet header already pulled by
/// `eth_type_trans` and an 802.1Q tag already moved into the skb's metadata by the receive
/// path (net/core/dev.c `__netif_receive_skb_core` → `skb_vlan_untag`). So offsets below are
/// from the IP header, the EtherType comes from the `SKF_AD_PROTOCOL` ancillary load (the
/// inner one for a tagged frame: VLANs cost nothing), and a load past the end of a short
/// frame ends the program with 0, which makes worker 0 the home of everything malformed.
///
/// Outgoing frames never reach it: the group is created with
/// `PACKET_FANOUT_FLAG_IGNORE_OUTGOING` (`PacketSocket`). `PACKET_FANOUT_FLAG_DEFRAG` is not
/// used: reassembly in the fanout hook would hand workers datagrams larger than a ring slot.
public struct FanoutProgram: Sendable, Equatable {
    /// One classic BPF instruction, laid out as `struct sock_filter`.
    public struct Instruction: Sendable, Equatable {
        public var code: UInt16
        public var jt: UInt8
        public var jf: UInt8
        public var k: UInt32
    }

    /// A persistent virtual service (`-p`): a client's connections must all reach the worker
    /// that holds its template, so they are steered by the client's masked address alone.
    public struct PersistentService: Sendable, Hashable {
        public var virtualAddress: IPAddress
        public var protocolNumber: UInt8
        public var port: UInt16
        /// The persistence netmask as a prefix length (IPv4: at most 32).
        public var prefixLength: Int
        /// The service's NAT real servers: their replies (RIP:rport → CIP:cport) are steered
        /// by the client's masked address too. No other service may use the same endpoint
        /// differently (the program cannot tell the replies apart); `LiveDirector` checks.
        public var natRealServers: [RealServerEndpoint]

        public init(virtualAddress: IPAddress, protocolNumber: UInt8, port: UInt16, prefixLength: Int,
                    natRealServers: [RealServerEndpoint]) {
            self.virtualAddress = virtualAddress
            self.protocolNumber = protocolNumber
            self.port = port
            self.prefixLength = prefixLength
            self.natRealServers = natRealServers
        }
    }

    public struct RealServerEndpoint: Sendable, Hashable {
        public var address: IPAddress
        public var port: UInt16
        public init(address: IPAddress, port: UInt16) {
            self.address = address
            self.port = port
        }
    }

    /// VIPs whose every frame from a client is steered by the client's address alone, and the
    /// NAT real server addresses whose every frame to a client is too (`FanoutSteering` picks
    /// them: the VIPs of FTP services and every VIP sharing a NAT real server with one).
    public struct ClientAddressSteering: Sendable, Equatable {
        public var virtualAddresses: [IPAddress]
        public var natRealServers: [IPAddress]
        public init(virtualAddresses: [IPAddress] = [], natRealServers: [IPAddress] = []) {
            self.virtualAddresses = virtualAddresses
            self.natRealServers = natRealServers
        }
    }

    /// The group size the program divides by.
    public let workers: Int
    public let instructions: [Instruction]

    /// BPF_MAXINSNS: the kernel refuses longer classic programs.
    public static let instructionLimit = Int(BPF_MAXINSNS)

    /// Builds the program for `workers` group members. VIPs and LIPs may mix families; each
    /// family is compared only with its own addresses. Throws when the address lists make the
    /// program longer than the kernel accepts (about 2000 IPv4 or 450 IPv6 addresses).
    public init(workers: Int, virtualAddresses: [IPAddress], localAddresses: [IPAddress],
                persistentServices: [PersistentService] = [], clientAddress: ClientAddressSteering = .init(),
                key: UInt32 = 0) throws(PacketIOError) {
        guard workers >= 1 else {
            throw PacketIOError(message: "cannot build the fanout program: \(workers) workers (need at least 1)")
        }
        self.workers = workers
        let steps = Self.steps(workers: workers, virtualAddresses: Self.unique(virtualAddresses),
                               localAddresses: Self.unique(localAddresses.filter { !virtualAddresses.contains($0) }),
                               persistent: persistentServices,
                               clientAddressVIPs: Self.unique(clientAddress.virtualAddresses),
                               clientAddressServers: Self.unique(clientAddress.natRealServers), key: key)
        instructions = try Assembler.assemble(steps)
        guard instructions.count <= Self.instructionLimit else {
            throw PacketIOError(message: "cannot build the fanout program: \(virtualAddresses.count) virtual and \(localAddresses.count) local addresses need \(instructions.count) classic BPF instructions, more than the kernel's \(Self.instructionLimit); use fewer addresses or one worker")
        }
    }

    private static func unique(_ addresses: [IPAddress]) -> [IPAddress] {
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

// MARK: - The program

extension FanoutProgram {
    /// Scratch memory cells (M[0...15]): the frame's tuple, normalised so that one shared tail
    /// classifies what both the plain and the ICMP-quote paths extract.
    enum Slot: UInt32 {
        /// The destination address's four words (IPv4: d0 only).
        case d0 = 0, d1, d2, d3
        case destinationFold, sourceFold, sourcePort, destinationPort
        case transport
        /// The source address's four words (IPv4: s0 only).
        case s0, s1, s2, s3
    }

    /// Where the IPv4 and IPv6 fields are, counted from the network header (RFC 791, 8200,
    /// 792, 4443). The ICMP quote starts 8 bytes into the ICMP message.
    enum Offset {
        static let ipv4FlagsFragment: UInt32 = 6
        static let ipv4Protocol: UInt32 = 9
        static let ipv4Source: UInt32 = 12
        static let ipv4Destination: UInt32 = 16
        static let ipv6NextHeader: UInt32 = 6
        static let ipv6Source: UInt32 = 8
        static let ipv6Destination: UInt32 = 24
        static let ipv6Upper: UInt32 = 40
        static let icmpQuote: UInt32 = 8
    }

    static let etherTypeIPv4: UInt32 = 0x0800
    static let etherTypeIPv6: UInt32 = 0x86DD
    static let tcp: UInt32 = 6
    static let udp: UInt32 = 17
    static let icmp: UInt32 = 1
    static let icmpv6: UInt32 = 58
    /// ICMPv4 errors Core relays (ip_vs_in_icmp: destination unreachable, source quench,
    /// time exceeded); ICMPv6 errors are types 1 to 4 (RFC 4443 §2.1).
    static let icmpv4Errors: [UInt32] = [3, 4, 11]
    /// ⌊2³² / φ⌋, Knuth's multiplicative hash: the client key is multiplied by it and its
    /// high half taken, so every bit of address and port decides the worker. Without it,
    /// `mod N` would see only the low bits, and Linux clients pick even ephemeral ports for
    /// connect() (since 4.6, leaving odd ones to bind()): one client's connections would all
    /// share a parity and, with an even N, half the workers.
    static let mixMultiplier: UInt32 = 0x9E37_79B1

    static func steps(workers: Int, virtualAddresses: [IPAddress], localAddresses: [IPAddress],
                      persistent: [PersistentService], clientAddressVIPs: [IPAddress] = [],
                      clientAddressServers: [IPAddress] = [], key: UInt32) -> [Step] {
        var s: [Step] = []
        let worker0 = Label("worker0"), ipv4 = Label("ipv4"), ipv6 = Label("ipv6")
        let classify4 = Label("classify4"), classify6 = Label("classify6")
        let fromClient = Label("fromClient"), toLocal = Label("toLocal"), other = Label("other")
        let modulo = Label("modulo"), mix = Label("mix")
        let byClientAddress = Label("byClientAddress"), toClientAddress = Label("toClientAddress")
        /// Where a client's frame to `vip` goes once no persistent service claimed it.
        func plainClientRule(_ vip: IPAddress) -> Label { clientAddressVIPs.contains(vip) ? byClientAddress : fromClient }

        s += [.loadProtocol,
              .jumpIfEqual(etherTypeIPv4, ipv4, else: Label("notIPv4")), .label(Label("notIPv4")),
              .jumpIfEqual(etherTypeIPv6, ipv6, else: worker0)]

        // IPv4: later fragments carry no ports; TCP and UDP ports follow the header (IHL).
        let v4Ports = Label("v4Ports"), v4ICMP = Label("v4ICMP"), v4Quote = Label("v4Quote")
        s += [.label(ipv4),
              .load(.half, Offset.ipv4FlagsFragment),
              .jumpIfAnySet(0x1FFF, worker0, else: Label("v4First")), .label(Label("v4First")),
              .load(.byte, Offset.ipv4Protocol)]
        s += oneOf([tcp, udp], then: v4Ports, else: Label("v4NotPorts"), tag: "v4p")
        s += [.label(Label("v4NotPorts")), .jumpIfEqual(icmp, v4ICMP, else: worker0)]
        s += [.label(v4Ports), .store(.transport),
              .load(.word, Offset.ipv4Source), .store(.s0), .store(.sourceFold),
              .load(.word, Offset.ipv4Destination), .store(.d0), .store(.destinationFold),
              .loadHeaderLength(0),
              .loadIndexed(.half, 0), .store(.sourcePort),
              .loadIndexed(.half, 2), .store(.destinationPort),
              .jump(classify4)]
        // An ICMPv4 error: X is the outer header length; the quoted IPv4 header follows the
        // 8-byte ICMP header, its transport ports follow its own header length.
        let q = Offset.icmpQuote
        s += [.label(v4ICMP), .loadHeaderLength(0), .loadIndexed(.byte, 0)]
        s += oneOf(icmpv4Errors, then: Label("v4Error"), else: worker0, tag: "v4e")
        s += [.label(Label("v4Error")), .loadIndexed(.byte, q + Offset.ipv4Protocol)]
        s += oneOf([tcp, udp], then: v4Quote, else: worker0, tag: "v4q")
        s += [.label(v4Quote), .store(.transport),
              // The quote reversed: its source is the destination a packet of the flow has.
              .loadIndexed(.word, q + Offset.ipv4Source), .store(.d0), .store(.destinationFold),
              .loadIndexed(.word, q + Offset.ipv4Destination), .store(.s0), .store(.sourceFold),
              .loadIndexed(.byte, q), .and(0x0F), .shiftLeft(2), .addX, .tax,
              .loadIndexed(.half, q), .store(.destinationPort),
              .loadIndexed(.half, q + 2), .store(.sourcePort),
              .jump(classify4)]

        // IPv6: only TCP, UDP or ICMPv6 right after the fixed header; extension headers → 0.
        let v6Ports = Label("v6Ports"), v6ICMP = Label("v6ICMP"), v6Quote = Label("v6Quote")
        s += [.label(ipv6), .load(.byte, Offset.ipv6NextHeader)]
        s += oneOf([tcp, udp], then: v6Ports, else: Label("v6NotPorts"), tag: "v6p")
        s += [.label(Label("v6NotPorts")), .jumpIfEqual(icmpv6, v6ICMP, else: worker0)]
        s += [.label(v6Ports), .store(.transport)]
        s += fold(at: Offset.ipv6Source, into: .sourceFold, words: [.s0, .s1, .s2, .s3])
        s += fold(at: Offset.ipv6Destination, into: .destinationFold, words: [.d0, .d1, .d2, .d3])
        s += [.load(.half, Offset.ipv6Upper), .store(.sourcePort),
              .load(.half, Offset.ipv6Upper + 2), .store(.destinationPort),
              .jump(classify6)]
        let q6 = Offset.ipv6Upper + Offset.icmpQuote
        s += [.label(v6ICMP), .load(.byte, Offset.ipv6Upper),
              .jumpIfGreater(4, worker0, else: Label("v6Low")), .label(Label("v6Low")),
              .jumpIfEqual(0, worker0, else: Label("v6Error")), .label(Label("v6Error")),
              .load(.byte, q6 + Offset.ipv6NextHeader)]
        s += oneOf([tcp, udp], then: v6Quote, else: worker0, tag: "v6q")
        s += [.label(v6Quote), .store(.transport)]
        s += fold(at: q6 + Offset.ipv6Source, into: .destinationFold, words: [.d0, .d1, .d2, .d3])
        s += fold(at: q6 + Offset.ipv6Destination, into: .sourceFold, words: [.s0, .s1, .s2, .s3])
        s += [.load(.half, q6 + Offset.ipv6Upper), .store(.destinationPort),
              .load(.half, q6 + Offset.ipv6Upper + 2), .store(.sourcePort),
              .jump(classify6)]

        // Which rule: compare the destination with every VIP, then every LIP, of the family.
        // A VIP with persistent services goes to its own check of protocol and port first.
        func clientRule(_ vip: IPAddress) -> Label {
            persistent.contains { $0.virtualAddress == vip } ? Label("persistentVIP", virtualAddresses.firstIndex(of: vip)!) : plainClientRule(vip)
        }
        let other4 = Label("other4"), other6 = Label("other6")
        s += [.label(classify4), .loadSlot(.d0)]
        for (i, address) in virtualAddresses.filter(\.isIPv4).enumerated() {
            s += [.jumpIfEqual(address.ipv4, clientRule(address), else: Label("v4vip", i)), .label(Label("v4vip", i))]
        }
        for (i, address) in localAddresses.filter(\.isIPv4).enumerated() {
            s += [.jumpIfEqual(address.ipv4, toLocal, else: Label("v4lip", i)), .label(Label("v4lip", i))]
        }
        s += [.jump(other4), .label(classify6)]
        for (i, address) in virtualAddresses.filter({ !$0.isIPv4 }).enumerated() {
            s += matchIPv6(address, then: clientRule(address), tag: "v6vip", index: i)
        }
        for (i, address) in localAddresses.filter({ !$0.isIPv4 }).enumerated() {
            s += matchIPv6(address, then: toLocal, tag: "v6lip", index: i)
        }
        s += [.jump(other6)]

        // Persistent services: by VIP, the protocol and port that make a service persistent.
        var block = 0
        for (i, vip) in virtualAddresses.enumerated() {
            let services = persistent.filter { $0.virtualAddress == vip }
            guard !services.isEmpty else { continue }
            s.append(.label(Label("persistentVIP", i)))
            for service in services {
                let miss = Label("persistentMiss", block), portCheck = Label("persistentPort", block)
                s += [.loadSlot(.transport), .jumpIfEqual(UInt32(service.protocolNumber), portCheck, else: miss),
                      .label(portCheck), .loadSlot(.destinationPort),
                      .jumpIfEqual(UInt32(service.port), Label("persistentKey", block), else: miss),
                      .label(Label("persistentKey", block))]
                s += maskedFold(source: true, ipv6: !vip.isIPv4, prefixLength: service.prefixLength)
                s += [.jump(mix), .label(miss)]
                block += 1
            }
            s.append(.jump(plainClientRule(vip)))
        }
        // NAT replies from a persistent service's real servers: by the destination (client),
        // masked. Anything else falls through to the client-endpoint rule.
        for (ipv6, label) in [(false, other4), (true, other6)] {
            s.append(.label(label))
            var seen = Set<RealServerEndpoint>()
            for service in persistent where service.virtualAddress.isIPv4 != ipv6 {
                for server in service.natRealServers where server.address.isIPv4 != ipv6 && seen.insert(server).inserted {
                    let miss = Label("replyMiss", block)
                    s += matchSource(server, protocolNumber: service.protocolNumber, then: Label("replyKey", block),
                                     else: miss, tag: block)
                    s.append(.label(Label("replyKey", block)))
                    s += maskedFold(source: false, ipv6: ipv6, prefixLength: service.prefixLength)
                    s += [.jump(mix), .label(miss)]
                    block += 1
                }
            }
            // Frames from a client-address VIP's NAT real servers, any port: by the client alone.
            for (i, server) in clientAddressServers.enumerated() where server.isIPv4 != ipv6 {
                if ipv6 {
                    s += matchIPv6(server, words: [.s0, .s1, .s2, .s3], then: toClientAddress, tag: "v6rs", index: i)
                } else {
                    s += [.loadSlot(.s0), .jumpIfEqual(server.ipv4, toClientAddress, else: Label("v4rs", i)), .label(Label("v4rs", i))]
                }
            }
            if !ipv6 { s.append(.jump(other)) }
        }

        s += [.label(other), .loadSlotX(.destinationPort), .loadSlot(.destinationFold), .xorX, .jump(mix),
              .label(byClientAddress), .loadSlot(.sourceFold), .jump(mix),
              .label(toClientAddress), .loadSlot(.destinationFold), .jump(mix),
              .label(fromClient), .loadSlotX(.sourcePort), .loadSlot(.sourceFold), .xorX,
              .label(mix)]
        // Key 0 (tests, one worker) leaves the unkeyed program as it was.
        if key != 0 { s.append(.xorK(key)) }
        s += [.multiply(mixMultiplier), .shiftRight(16), .jump(modulo),
              .label(toLocal), .loadSlot(.destinationPort),
              .label(modulo), .modulo(UInt32(workers)), .returnA,
              .label(worker0), .returnConstant(0)]
        return s
    }

    /// A jump to `then` when A equals any of `values`, else to `otherwise`.
    static func oneOf(_ values: [UInt32], then: Label, else otherwise: Label, tag: String) -> [Step] {
        var s: [Step] = []
        for (i, value) in values.enumerated() {
            let next = i == values.count - 1 ? otherwise : Label(tag, i)
            s.append(.jumpIfEqual(value, then, else: next))
            if i < values.count - 1 { s.append(.label(next)) }
        }
        return s
    }

    /// Loads the four words of the IPv6 address at `offset`, optionally keeping each in
    /// `words`, and stores their XOR in `slot`.
    static func fold(at offset: UInt32, into slot: Slot, words: [Slot]?) -> [Step] {
        var s: [Step] = []
        for i in 0..<4 {
            s.append(.load(.word, offset + UInt32(i) * 4))
            if let words { s.append(.store(words[i])) }
            if i > 0 { s.append(.xorX) }
            if i < 3 { s.append(.tax) }
        }
        s.append(.store(slot))
        return s
    }

    /// A = the fold of the source (or destination) address masked to `prefixLength` bits.
    static func maskedFold(source: Bool, ipv6: Bool, prefixLength: Int) -> [Step] {
        let words: [Slot] = source ? [.s0, .s1, .s2, .s3] : [.d0, .d1, .d2, .d3]
        if !ipv6 { return [.loadSlot(words[0]), .and(mask(prefixLength, word: 0))] }
        var s: [Step] = []
        for i in 0..<4 {
            s += [.loadSlot(words[i]), .and(mask(prefixLength, word: i))]
            if i > 0 { s.append(.xorX) }
            if i < 3 { s.append(.tax) }
        }
        return s
    }

    /// The bits of 32-bit word `word` (0: most significant) a prefix of `length` keeps.
    static func mask(_ length: Int, word: Int) -> UInt32 {
        let bits = min(max(length - 32 * word, 0), 32)
        return bits == 0 ? 0 : ~(UInt32.max >> UInt32(bits))
    }

    /// Jumps to `then` when the source address (s0...s3), source port and protocol are
    /// `server`'s, else to `otherwise`.
    static func matchSource(_ server: RealServerEndpoint, protocolNumber: UInt8, then: Label, else otherwise: Label,
                            tag: Int) -> [Step] {
        var checks: [(Slot, UInt32)] = [(.sourcePort, UInt32(server.port)), (.transport, UInt32(protocolNumber))]
        if server.address.isIPv4 {
            checks.insert((.s0, server.address.ipv4), at: 0)
        } else {
            checks.insert(contentsOf: [
                (.s3, UInt32(truncatingIfNeeded: server.address.low)), (.s2, UInt32(truncatingIfNeeded: server.address.low >> 32)),
                (.s1, UInt32(truncatingIfNeeded: server.address.high)), (.s0, UInt32(truncatingIfNeeded: server.address.high >> 32)),
            ], at: 0)
        }
        var s: [Step] = []
        for (i, (slot, value)) in checks.enumerated() {
            let hit = i == checks.count - 1 ? then : Label("replyCheck", tag * 8 + i)
            s += [.loadSlot(slot), .jumpIfEqual(value, hit, else: otherwise)]
            if i < checks.count - 1 { s.append(.label(hit)) }
        }
        return s
    }

    /// Jumps to `then` when `words` (the destination's d0...d3 unless told) hold `address`: the
    /// low 64 bits first, which differ between addresses of one prefix, then the high ones to
    /// confirm.
    static func matchIPv6(_ address: IPAddress, words slots: [Slot] = [.d0, .d1, .d2, .d3], then: Label, tag: String,
                          index: Int) -> [Step] {
        let words: [(Slot, UInt32)] = [
            (slots[3], UInt32(truncatingIfNeeded: address.low)), (slots[2], UInt32(truncatingIfNeeded: address.low >> 32)),
            (slots[1], UInt32(truncatingIfNeeded: address.high)), (slots[0], UInt32(truncatingIfNeeded: address.high >> 32)),
        ]
        let miss = Label(tag, index)
        var s: [Step] = []
        for (i, (slot, word)) in words.enumerated() {
            let hit = i == 3 ? then : Label(tag + "w", index * 4 + i)
            s += [.loadSlot(slot), .jumpIfEqual(word, hit, else: miss)]
            if i < 3 { s.append(.label(hit)) }
        }
        s.append(.label(miss))
        return s
    }
}
