import Core
import PacketBuilder
import PacketIO
import TestSupport
import Testing
import Wire

/// The client-address rule (Docs/adr/0002, Docs/ftp.md): every frame of an FTP session —
/// control connection, passive and active data connections, their NAT replies and ICMP errors
/// about them — reaches the one worker the client's address names, while other VIPs and real
/// servers keep spreading by the client's port; FullNAT replies still follow the local port.
@Suite struct FanoutProgramClientAddressTests {
    typealias T = FanoutProgramTests
    /// A second VIP and NAT real server outside the FTP session's steering.
    static let plainVIP4 = "198.18.0.20", plainRIP4 = "198.18.1.21"
    static let plainVIP6 = "2001:db8::20", plainRIP6 = "2001:db8:1::21"

    static func program(workers: Int, ipv6: Bool, persistent: [FanoutProgram.PersistentService] = [],
                        key: UInt32 = 0) throws -> FanoutProgram {
        let vips = [T.vip4, T.vip6, plainVIP4, plainVIP6].map { IPAddress($0)! }
        return try FanoutProgram(
            workers: workers, virtualAddresses: vips, localAddresses: [IPAddress(T.lip4)!, IPAddress(T.lip6)!],
            persistentServices: persistent,
            clientAddress: .init(virtualAddresses: [IPAddress(T.vip4)!, IPAddress(T.vip6)!],
                                 natRealServers: [IPAddress(T.rip4)!, IPAddress(T.rip6)!]),
            key: key)
    }

    @Test(arguments: [2, 3, 4])
    func theProgramWithClientAddressRulesPassesTheKernelsChecks(workers: Int) throws {
        let p = try Self.program(workers: workers, ipv6: false)
        #expect(ClassicBPF.check(p.instructions) == nil)
        #expect(p.instructions.count <= FanoutProgram.instructionLimit)
    }

    /// NAT: control connection CIP:c → VIP:21, passive data CIP:c2 → VIP:p, active data
    /// RIP:20 → CIP:a, and each one's other direction, plus an ICMP error about a reply: one
    /// worker, the client address's. Over many clients every worker gets sessions.
    @Test(arguments: [false, true])
    func anFTPSessionOverNATStaysOnOneWorker(ipv6: Bool) throws {
        let vip = ipv6 ? T.vip6 : T.vip4, rip = ipv6 ? T.rip6 : T.rip4
        for workers in [2, 3] {
            for key: UInt32 in [0, 0x4654_5032] {
                let p = try Self.program(workers: workers, ipv6: ipv6, key: key)
                var random = T.Random(state: UInt64(workers) << 4 | (ipv6 ? 1 : 0) | UInt64(key & 0xF0))
                var perWorker = [Int](repeating: 0, count: workers)
                for _ in 0..<200 {
                    let client = random.client(ipv6: ipv6), c = "\(client)"
                    let control = random.port(), passive = random.port(), passiveData = random.port(), active = random.port()
                    let w = FanoutProgram.worker(clientAddress: client, workers: workers, key: key)
                    #expect(w == T.expectedPersistent(client, prefix: ipv6 ? 128 : 32, workers: workers) || key != 0)
                    let frames: [(String, [UInt8])] = [
                        ("control SYN", T.segment(.tcp, c, control, vip, 21, flags: [.syn]).bytes),
                        ("control reply", T.segment(.tcp, rip, 21, c, control).bytes),
                        ("passive SYN", T.segment(.tcp, c, passiveData, vip, passive, flags: [.syn]).bytes),
                        ("passive reply", T.segment(.tcp, rip, passive, c, passiveData).bytes),
                        ("active SYN", T.segment(.tcp, rip, 20, c, active, flags: [.syn]).bytes),
                        ("active client", T.segment(.tcp, c, active, vip, 20).bytes),
                        ("ICMP about a reply", T.icmpError(from: ipv6 ? "2001:db8::fe" : "198.18.0.254", to: vip,
                                                           quoting: T.segment(.tcp, vip, 21, c, control))),
                    ]
                    for (name, bytes) in frames {
                        #expect(ClassicBPF.worker(p, bytes) == w, "\(name) of \(c) (workers \(workers), key \(key))")
                    }
                    perWorker[w] += 1
                }
                #expect(perWorker.allSatisfy { $0 > 200 / workers / 3 }, "\(perWorker)")
            }
        }
    }

    /// FullNAT: the client's frames to the VIP on any port go by its address; the real
    /// server's frames to LIP:lport (control, passive and active data) by the local port,
    /// which the client's worker allocated from its slice.
    @Test(arguments: [false, true])
    func anFTPSessionOverFullNATStaysOnOneWorker(ipv6: Bool) throws {
        let vip = ipv6 ? T.vip6 : T.vip4, lip = ipv6 ? T.lip6 : T.lip4
        let rip = ipv6 ? "2001:db8:1::31" : "198.18.1.31"  // FullNAT real server: not in the NAT list
        let workers = 3
        let p = try Self.program(workers: workers, ipv6: ipv6)
        let pools = (0..<workers).map { k in
            LocalPortPoolBox(LocalPortPool(address: IPAddress(lip)!, slice: WorkerSlice(index: k, count: workers)))
        }
        var random = T.Random(state: ipv6 ? 77 : 78)
        for _ in 0..<150 {
            let client = random.client(ipv6: ipv6), c = "\(client)"
            let w = FanoutProgram.worker(clientAddress: client, workers: workers)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, c, random.port(), vip, 21, flags: [.syn]).bytes) == w)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, c, random.port(), vip, random.port(), flags: [.syn]).bytes) == w)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, c, random.port(), vip, 20).bytes) == w)
            for source in [UInt16(21), 20, random.port()] {
                let allocated = pools[w].pool.allocate()
                let lport = try #require(allocated)
                #expect(ClassicBPF.worker(p, T.segment(.tcp, rip, source, lip, lport).bytes) == w)
                #expect(FanoutProgram.worker(localPort: lport, workers: workers) == w)
            }
        }
    }

    /// Another VIP and its real server still spread one client's connections by port; a
    /// persistent service on the FTP VIP keeps its own netmask.
    @Test(arguments: [false, true])
    func otherServicesKeepTheirRules(ipv6: Bool) throws {
        let workers = 4
        let vip = ipv6 ? T.vip6 : T.vip4, plainVIP = ipv6 ? Self.plainVIP6 : Self.plainVIP4
        let plainRIP = ipv6 ? Self.plainRIP6 : Self.plainRIP4, prefix = ipv6 ? 64 : 24
        let sticky = FanoutProgram.PersistentService(
            virtualAddress: IPAddress(vip)!, protocolNumber: TransportProtocol.tcp.rawValue, port: 443, prefixLength: prefix,
            natRealServers: [])
        let p = try Self.program(workers: workers, ipv6: ipv6, persistent: [sticky])
        let client = ipv6 ? IPAddress("2001:db8:8000::7")! : IPAddress("198.18.200.7")!
        var plainWorkers = Set<Int>()
        for i in 0..<64 {
            let port = UInt16(32768 + 2 * i * 7)
            let w = T.expected(client, port, workers: workers)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, "\(client)", port, plainVIP, 80, flags: [.syn]).bytes) == w)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, plainRIP, 8080, "\(client)", port).bytes) == w)
            plainWorkers.insert(w)
            #expect(ClassicBPF.worker(p, T.segment(.tcp, "\(client)", port, vip, 443, flags: [.syn]).bytes)
                    == T.expectedPersistent(client, prefix: prefix, workers: workers))
            #expect(ClassicBPF.worker(p, T.segment(.udp, "\(client)", port, vip, 53).bytes)
                    == FanoutProgram.worker(clientAddress: client, workers: workers))
        }
        #expect(plainWorkers.count == workers, "the plain VIP should still spread one client's ports")
    }
}
