import Core
import PacketBuilder
import PacketIO
import TestSupport
import Testing
import Wire

/// The fanout steering program (Docs/adr/0002), run through a classic BPF interpreter with
/// the kernel's semantics over frames built with PacketBuilder: both directions of every NAT
/// and FullNAT connection (and ICMP errors about them) reach the same worker, for many
/// random tuples over IPv4 and IPv6; what has no ports goes to worker 0; the program passes
/// the kernel's classic checks. FanoutKernelTests attaches it to real sockets.
@Suite struct FanoutProgramTests {
    static let directorMAC = MACAddress("02:00:00:00:00:01")!
    static let peerMAC = MACAddress("02:00:00:00:c0:01")!
    static let vip4 = "198.18.0.10", lip4 = "198.18.1.100", rip4 = "198.18.1.11"
    static let vip6 = "2001:db8::10", lip6 = "2001:db8:1::100", rip6 = "2001:db8:1::11"
    static let vport: UInt16 = 80, rport: UInt16 = 8080

    /// A program for `workers` with the lab's VIPs and LIPs plus `extra` filler VIPs of each
    /// family in front of them (so the real ones sit at the far end of long jeq chains).
    static func program(workers: Int, extra: Int = 0, key: UInt32 = 0) throws -> FanoutProgram {
        var vips: [IPAddress] = []
        for i in 0..<extra {
            vips.append(IPAddress(ipv4: 0xC613_0000 | UInt32(i)))  // 198.19.x.y
            vips.append(IPAddress("2001:db8:ff::\(String(i + 1, radix: 16))")!)
        }
        vips += [IPAddress(vip4)!, IPAddress(vip6)!]
        return try FanoutProgram(workers: workers, virtualAddresses: vips,
                                 localAddresses: [IPAddress(lip4)!, IPAddress(lip6)!], key: key)
    }

    /// Seeded client endpoints (SplitMix64), the same on every run.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func port() -> UInt16 { UInt16(1024 + next() % (65536 - 1024)) }
        /// A client address in 198.18.128.0/17 or 2001:db8:8000::/33, clear of the
        /// director's and real servers' addresses.
        mutating func client(ipv6: Bool) -> IPAddress {
            if ipv6 {
                return IPAddress(high: 0x2001_0DB8_8000_0000 | (next() & 0x7FFF_FFFF), low: next())
            }
            return IPAddress(ipv4: 0xC612_8000 | UInt32(truncatingIfNeeded: next() & 0x7FFF))
        }
    }

    /// The rule for a client endpoint, computed here independently of the program.
    static func expected(_ client: IPAddress, _ port: UInt16, workers: Int, key: UInt32 = 0) -> Int {
        let fold: UInt32 = client.isIPv4 ? client.ipv4
            : UInt32(truncatingIfNeeded: client.high >> 32) ^ UInt32(truncatingIfNeeded: client.high)
              ^ UInt32(truncatingIfNeeded: client.low >> 32) ^ UInt32(truncatingIfNeeded: client.low)
        // Knuth's multiplicative mix, high half.
        return Int((((fold ^ UInt32(port) ^ key) &* 0x9E37_79B1) >> 16) % UInt32(workers))
    }

    static func ip(_ frame: Frame, _ source: String, _ destination: String) -> Frame {
        source.contains(":") ? frame.ipv6(source: source, destination: destination)
                             : frame.ipv4(source: source, destination: destination)
    }

    static func segment(_ proto: TransportProtocol, _ source: String, _ sport: UInt16, _ destination: String,
                        _ dport: UInt16, flags: TCPFlags = [.ack], vlan: UInt16? = nil) -> Frame {
        let l3 = ip(.ethernet(destination: directorMAC, source: peerMAC, vlan: vlan), source, destination)
        return proto == .tcp ? l3.tcp(sourcePort: sport, destinationPort: dport, flags: flags).payload("x")
                             : l3.udp(sourcePort: sport, destinationPort: dport).payload("x")
    }

    /// An ICMP error (fragmentation needed / packet too big) from `router` to `destination`
    /// quoting `quoted` (a frame), as a router on the path would send it.
    static func icmpError(from router: String, to destination: String, quoting quoted: Frame) -> [UInt8] {
        let l3 = ip(.ethernet(destination: directorMAC, source: peerMAC), router, destination)
        let message = destination.contains(":") ? l3.icmpv6(type: 2, code: 0, rest: 1280)
                                                : l3.icmpv4(type: 3, code: 4, rest: 1400)
        return message.quoting(quoted, limit: destination.contains(":") ? 48 : 28).bytes
    }

    // MARK: The kernel would accept it

    @Test(arguments: [(2, 0), (3, 40), (4, 300), (8, 0)])
    func theProgramPassesTheKernelsClassicChecks(workers: Int, extra: Int) throws {
        let p = try Self.program(workers: workers, extra: extra)
        #expect(ClassicBPF.check(p.instructions) == nil)
        #expect(p.instructions.count <= FanoutProgram.instructionLimit)
        #expect(p.workers == workers)
    }

    @Test func farTargetsAreReachedThroughUnconditionalJumps() throws {
        // 300 filler VIPs of each family: the jeq chains are far longer than a conditional
        // jump's 255-instruction reach, so the assembler must relax them.
        let p = try Self.program(workers: 3, extra: 300)
        let ja = p.instructions.filter { $0.code == ClassicBPF.jmp | ClassicBPF.ja }
        #expect(ja.contains { $0.k > 255 }, "no long unconditional jump in a \(p.instructions.count)-instruction program")
        var random = Random(state: 7)
        for ipv6 in [false, true] {
            for _ in 0..<100 {
                let client = random.client(ipv6: ipv6), port = random.port()
                let frame = Self.segment(.tcp, client.description, port, ipv6 ? Self.vip6 : Self.vip4, Self.vport, flags: [.syn])
                #expect(ClassicBPF.worker(p, frame.bytes) == Self.expected(client, port, workers: 3))
            }
        }
        // A filler VIP near the start of the chain is a VIP too.
        let frame = Self.segment(.udp, "198.18.7.7", 5000, "198.19.0.1", 53)
        #expect(ClassicBPF.worker(p, frame.bytes) == Self.expected(IPAddress("198.18.7.7")!, 5000, workers: 3))
    }

    // MARK: Both directions meet

    /// NAT: the client's packets to the VIP and the real server's replies to the client
    /// (RIP:rport → CIP:cport) pick the same worker, the one the client endpoint names.
    @Test(arguments: [(false, TransportProtocol.tcp), (false, .udp), (true, .tcp), (true, .udp)])
    func natConnectionsMeetOnOneWorker(ipv6: Bool, proto: TransportProtocol) throws {
        for workers in [2, 3, 4] {
          for key: UInt32 in [0, 0x5157_4C56] {
            let p = try Self.program(workers: workers, key: key)
            var random = Random(state: UInt64(workers) << 8 | (ipv6 ? 1 : 0) << 1 | (proto == .tcp ? 1 : 0))
            var perWorker = [Int](repeating: 0, count: workers)
            for _ in 0..<400 {
                let client = random.client(ipv6: ipv6), cport = random.port()
                let vip = ipv6 ? Self.vip6 : Self.vip4, rip = ipv6 ? Self.rip6 : Self.rip4
                let request = Self.segment(proto, client.description, cport, vip, Self.vport, flags: [.syn])
                let reply = Self.segment(proto, rip, Self.rport, client.description, cport, flags: [.syn, .ack])
                let w = ClassicBPF.worker(p, request.bytes)
                #expect(w == Self.expected(client, cport, workers: workers, key: key))
                #expect(ClassicBPF.worker(p, reply.bytes) == w, "\(client):\(cport) reply went elsewhere")
                perWorker[w] += 1
            }
            #expect(perWorker.allSatisfy { $0 > 400 / workers / 2 }, "random clients spread unevenly: \(perWorker)")
          }
        }
    }

    /// The key decides which worker a client lands on: without it, anyone could compute the
    /// sources that all land on one worker and flood it alone.
    @Test func theKeyMovesClientsBetweenWorkers() throws {
        let unkeyed = try Self.program(workers: 4), keyed = try Self.program(workers: 4, key: 0x9D2C_5680)
        var random = Random(state: 99)
        var moved = 0
        for _ in 0..<400 {
            let client = random.client(ipv6: false), cport = random.port()
            let frame = Self.segment(.tcp, client.description, cport, Self.vip4, Self.vport, flags: [.syn]).bytes
            if ClassicBPF.worker(unkeyed, frame) != ClassicBPF.worker(keyed, frame) { moved += 1 }
        }
        // Independent choices among 4 workers differ 3 times in 4.
        #expect(moved > 200, "only \(moved) of 400 clients changed worker with the key")
    }

    /// One client's connections spread over every worker, even though Linux hands connect()
    /// only even ephemeral ports (a plain `(address ⊕ port) mod 2` would keep them on one).
    /// The Swift mirror a sync backup uses (`FanoutProgram.worker(...)`) picks what the program
    /// picks, for client → VIP frames of plain and persistent services and FullNAT replies.
    @Test(arguments: [false, true])
    func swiftMirrorPicksWhatTheProgramPicks(ipv6: Bool) throws {
        let workers = 4, prefix = ipv6 ? 64 : 24
        let vip = ipv6 ? Self.vip6 : Self.vip4, lip = ipv6 ? Self.lip6 : Self.lip4, rip = ipv6 ? Self.rip6 : Self.rip4
        let persistent = FanoutProgram.PersistentService(
            virtualAddress: IPAddress(vip)!, protocolNumber: TransportProtocol.tcp.rawValue, port: 443, prefixLength: prefix,
            natRealServers: [])
        let p = try FanoutProgram(workers: workers, virtualAddresses: [IPAddress(vip)!], localAddresses: [IPAddress(lip)!],
                                  persistentServices: [persistent])
        var random = Random(state: ipv6 ? 61 : 41)
        for _ in 0..<200 {
            let client = random.client(ipv6: ipv6), cport = random.port(), lport = random.port()
            let plain = Self.segment(.tcp, "\(client)", cport, vip, Self.vport)
            #expect(ClassicBPF.worker(p, plain.bytes) == FanoutProgram.worker(client: client, port: cport, workers: workers))
            let sticky = Self.segment(.tcp, "\(client)", cport, vip, 443)
            #expect(ClassicBPF.worker(p, sticky.bytes)
                    == FanoutProgram.worker(persistentClient: client, prefixLength: prefix, workers: workers))
            let reply = Self.segment(.tcp, rip, Self.rport, lip, lport)
            #expect(ClassicBPF.worker(p, reply.bytes) == FanoutProgram.worker(localPort: lport, workers: workers))
        }
    }

    /// With a steering key (XORed in before the mix), the mirror takes the same key.
    @Test func swiftMirrorTakesTheKey() {
        let client = IPAddress("198.18.200.7")!
        #expect(FanoutProgram.worker(client: client, port: 40000, workers: 4, key: 0)
                == FanoutProgram.worker(client: client, port: 40000, workers: 4))
        let fold = client.ipv4 ^ 40000 ^ 0x1234_5678
        #expect(FanoutProgram.worker(client: client, port: 40000, workers: 4, key: 0x1234_5678)
                == Int(((fold &* 0x9E37_79B1) >> 16) % 4))
    }

    @Test(arguments: [2, 3, 4])
    func oneClientsEvenEphemeralPortsSpreadOverEveryWorker(workers: Int) throws {
        let p = try Self.program(workers: workers)
        var perWorker = [Int](repeating: 0, count: workers)
        for i in 0..<64 {
            let port = UInt16(32768 + 2 * i * 7)
            let frame = Self.segment(.tcp, "198.18.0.100", port, Self.vip4, Self.vport, flags: [.syn])
            perWorker[ClassicBPF.worker(p, frame.bytes)] += 1
        }
        #expect(perWorker.allSatisfy { $0 >= 64 / workers / 3 }, "\(perWorker)")
    }

    /// FullNAT: worker w allocates only its slice of the local ports, and the real server's
    /// reply to LIP:lport comes back to w.
    @Test(arguments: [false, true])
    func fullNATRepliesReachTheWorkerThatAllocatedTheLocalPort(ipv6: Bool) throws {
        for workers in [2, 3, 5] {
            let p = try Self.program(workers: workers)
            let lip = ipv6 ? Self.lip6 : Self.lip4, vip = ipv6 ? Self.vip6 : Self.vip4, rip = ipv6 ? Self.rip6 : Self.rip4
            let pools = (0..<workers).map { k in
                LocalPortPoolBox(LocalPortPool(address: IPAddress(lip)!, slice: WorkerSlice(index: k, count: workers)))
            }
            var random = Random(state: 99 &+ UInt64(workers))
            for _ in 0..<300 {
                let client = random.client(ipv6: ipv6), cport = random.port()
                let w = ClassicBPF.worker(p, Self.segment(.tcp, client.description, cport, vip, Self.vport, flags: [.syn]).bytes)
                #expect(w == Self.expected(client, cport, workers: workers))
                let allocated = pools[w].pool.allocate()
                let lport = try #require(allocated)
                let reply = Self.segment(.tcp, rip, Self.rport, lip, lport, flags: [.syn, .ack])
                #expect(ClassicBPF.worker(p, reply.bytes) == w, "reply to \(lip):\(lport) did not reach worker \(w)")
                // An ICMP error about the director's packet to the real server comes back to the LIP.
                let toServer = Self.segment(.tcp, lip, lport, rip, Self.rport)
                #expect(ClassicBPF.worker(p, Self.icmpError(from: ipv6 ? "2001:db8:1::fe" : "198.18.1.254", to: lip,
                                                             quoting: toServer)) == w)
            }
        }
    }

    /// ICMP errors are steered by the connection they quote, in both directions.
    @Test(arguments: [false, true])
    func icmpErrorsFollowTheConnectionTheyQuote(ipv6: Bool) throws {
        let p = try Self.program(workers: 3)
        let vip = ipv6 ? Self.vip6 : Self.vip4, rip = ipv6 ? Self.rip6 : Self.rip4
        let clientRouter = ipv6 ? "2001:db8::fe" : "198.18.0.254", serverRouter = ipv6 ? "2001:db8:1::fe" : "198.18.1.254"
        var random = Random(state: 1234)
        for _ in 0..<200 {
            let client = random.client(ipv6: ipv6), cport = random.port()
            let w = Self.expected(client, cport, workers: 3)
            // Client side: the router could not deliver the director's reply VIP:vport → CIP:cport.
            let reply = Self.segment(.tcp, vip, Self.vport, client.description, cport)
            #expect(ClassicBPF.worker(p, Self.icmpError(from: clientRouter, to: vip, quoting: reply)) == w)
            // Server side (NAT): the director's CIP:cport → RIP:rport packet was too big.
            let toServer = Self.segment(.udp, client.description, cport, rip, Self.rport)
            #expect(ClassicBPF.worker(p, Self.icmpError(from: serverRouter, to: client.description, quoting: toServer)) == w)
        }
    }

    // MARK: Persistence

    /// The persistence rule: the client's address masked to `prefix` bits, folded and mixed.
    static func expectedPersistent(_ client: IPAddress, prefix: Int, workers: Int) -> Int {
        let masked = client.masked(prefixLength: prefix)
        let fold: UInt32 = masked.isIPv4 ? masked.ipv4
            : UInt32(truncatingIfNeeded: masked.high >> 32) ^ UInt32(truncatingIfNeeded: masked.high)
              ^ UInt32(truncatingIfNeeded: masked.low >> 32) ^ UInt32(truncatingIfNeeded: masked.low)
        return Int(((fold &* 0x9E37_79B1) >> 16) % UInt32(workers))
    }

    /// A persistent NAT service on VIP:80 (and a plain one on VIP:443 with other real
    /// servers): every connection of one client network to port 80 reaches one worker, the
    /// replies too, so the client's one template decides them all; port 443 still spreads.
    @Test(arguments: [false, true])
    func persistentServicesKeepAClientNetworkOnOneWorker(ipv6: Bool) throws {
        let workers = 3
        let vip = ipv6 ? Self.vip6 : Self.vip4, rip = ipv6 ? Self.rip6 : Self.rip4
        let otherRIP = ipv6 ? "2001:db8:1::21" : "198.18.1.21"
        let prefix = ipv6 ? 64 : 24
        let persistentService = FanoutProgram.PersistentService(
            virtualAddress: IPAddress(vip)!, protocolNumber: 6, port: Self.vport, prefixLength: prefix,
            natRealServers: [FanoutProgram.RealServerEndpoint(address: IPAddress(rip)!, port: Self.rport)])
        let p = try FanoutProgram(workers: workers, virtualAddresses: [IPAddress(Self.vip4)!, IPAddress(Self.vip6)!],
                                  localAddresses: [IPAddress(Self.lip4)!, IPAddress(Self.lip6)!],
                                  persistentServices: [persistentService])
        #expect(ClassicBPF.check(p.instructions) == nil)
        var random = Random(state: 31)
        var plainWorkers = Set<Int>()
        for _ in 0..<24 {
            let network = random.client(ipv6: ipv6).masked(prefixLength: prefix)
            let w = Self.expectedPersistent(network, prefix: prefix, workers: workers)
            for _ in 0..<8 {
                // Another host of the same network, another port.
                let client = IPAddress(high: network.high, low: network.low | (random.next() & (ipv6 ? .max : 0xFF)))
                let cport = random.port()
                let request = Self.segment(.tcp, client.description, cport, vip, Self.vport, flags: [.syn])
                let reply = Self.segment(.tcp, rip, Self.rport, client.description, cport, flags: [.syn, .ack])
                #expect(ClassicBPF.worker(p, request.bytes) == w, "\(client):\(cport) → persistent VIP")
                #expect(ClassicBPF.worker(p, reply.bytes) == w, "reply to \(client):\(cport)")
                let error = Self.icmpError(from: ipv6 ? "2001:db8:1::fe" : "198.18.1.254", to: client.description,
                                           quoting: Self.segment(.tcp, client.description, cport, rip, Self.rport))
                #expect(ClassicBPF.worker(p, error) == w, "ICMP error about \(client):\(cport)")
                // UDP to the same port, and TCP to 443, are other services: by endpoint.
                let udp = Self.segment(.udp, client.description, cport, vip, Self.vport)
                #expect(ClassicBPF.worker(p, udp.bytes) == Self.expected(client, cport, workers: workers))
                let plain = Self.segment(.tcp, client.description, cport, vip, 443, flags: [.syn])
                let pw = ClassicBPF.worker(p, plain.bytes)
                #expect(pw == Self.expected(client, cport, workers: workers))
                let plainReply = Self.segment(.tcp, otherRIP, 443, client.description, cport)
                #expect(ClassicBPF.worker(p, plainReply.bytes) == pw)
                plainWorkers.insert(pw)
            }
        }
        #expect(plainWorkers.count == workers, "the non-persistent service should still spread")
    }

    // MARK: Worker 0

    @Test func framesWithoutPortsGoToWorkerZero() throws {
        let p = try Self.program(workers: 4)
        let eth = Frame.ethernet(destination: Self.directorMAC, source: Self.peerMAC)
        var frames: [(String, [UInt8])] = [
            ("ARP request", Frame.ethernet(destination: .broadcast, source: Self.peerMAC)
                .arp(operation: 1, senderMAC: Self.peerMAC, senderIP: "198.18.0.77", targetMAC: .zero, targetIP: Self.vip4).bytes),
            ("non-IP", eth.payload([0x88, 0xB5, 1, 2, 3, 4]).bytes),
            ("IPv4 echo request to the VIP", eth.ipv4(source: "198.18.0.77", destination: Self.vip4).icmpv4(type: 8, code: 0).bytes),
            ("IPv4 later fragment", eth.ipv4(source: "198.18.0.77", destination: Self.vip4, dontFragment: false, fragmentOffset: 1480)
                .protocolNumber(6).payload([UInt8](repeating: 7, count: 64)).bytes),
            ("IPv4 GRE to the VIP", eth.ipv4(source: "198.18.0.77", destination: Self.vip4).protocolNumber(47).payload([0, 0, 8, 0]).bytes),
            ("IPv6 neighbour solicitation", eth.ipv6(source: "2001:db8::77", destination: "ff02::1:ff00:10")
                .icmpv6(type: 135, code: 0).payload([UInt8](repeating: 0, count: 16)).bytes),
            ("IPv6 with a hop-by-hop header", eth.ipv6(source: "2001:db8::77", destination: Self.vip6).ipv6Extension(0)
                .tcp(sourcePort: 40001, destinationPort: 80, flags: [.syn]).bytes),
            ("IPv6 fragment", eth.ipv6(source: "2001:db8::77", destination: Self.vip6).ipv6Fragment(offset: 0, more: true, identification: 9)
                .tcp(sourcePort: 40001, destinationPort: 80, flags: [.syn]).bytes),
            ("IPv4 redirect (not relayed)", eth.ipv4(source: "198.18.0.1", destination: Self.vip4).icmpv4(type: 5, code: 1)
                .quoting(Self.segment(.tcp, Self.vip4, 80, "198.18.0.77", 40001)).bytes),
        ]
        // Cut short: the TCP ports are past the end, and the program's load fails.
        let full = Self.segment(.tcp, "198.18.0.77", 40001, Self.vip4, 80).bytes
        frames.append(("IPv4 cut before its ports", Array(full.prefix(14 + 20 + 1))))
        for (what, bytes) in frames {
            #expect(ClassicBPF.worker(p, bytes) == 0, "\(what)")
        }
        // The same IPv4 TCP header on a port that hashes elsewhere is not worker 0, so the
        // checks above are not vacuous.
        let port = (40001...40010).first { Self.expected(IPAddress("198.18.0.77")!, UInt16($0), workers: 4) != 0 }!
        #expect(ClassicBPF.worker(p, Self.segment(.tcp, "198.18.0.77", UInt16(port), Self.vip4, 80).bytes) != 0)
    }

    /// An 802.1Q tag is in the skb's metadata by the time the program runs; a frame with
    /// IPv4 options moves the ports, which the program finds through the header length.
    @Test func taggedFramesAndIPv4OptionsAreSteeredLikeAnyOther() throws {
        let p = try Self.program(workers: 3)
        var random = Random(state: 55)
        for _ in 0..<100 {
            let client = random.client(ipv6: false), cport = random.port()
            let w = Self.expected(client, cport, workers: 3)
            let tagged = Self.segment(.tcp, client.description, cport, Self.vip4, Self.vport, vlan: 42)
            #expect(ClassicBPF.worker(p, tagged.bytes) == w)
            let options = Frame.ethernet(destination: Self.directorMAC, source: Self.peerMAC)
                .ipv4(source: client.description, destination: Self.vip4, options: [0x94, 0x04, 0, 0, 1, 1, 1, 0])
                .tcp(sourcePort: cport, destinationPort: Self.vport, flags: [.syn])
            #expect(ClassicBPF.worker(p, options.bytes) == w)
        }
    }

    @Test func tooManyAddressesIsAClearError() {
        let vips = (0..<600).map { IPAddress("2001:db8:ee::\(String($0 + 1, radix: 16))")! }
        #expect {
            _ = try FanoutProgram(workers: 2, virtualAddresses: vips, localAddresses: [])
        } throws: { error in
            "\(error)".contains("more than the kernel's 4096") && "\(error)".contains("600 virtual")
        }
        #expect(throws: PacketIOError.self) { _ = try FanoutProgram(workers: 0, virtualAddresses: [], localAddresses: []) }
    }
}

/// A non-copyable pool in a box, so an array of them can be mutated in place.
final class LocalPortPoolBox {
    var pool: LocalPortPool
    init(_ pool: consuming LocalPortPool) { self.pool = pool }
}
