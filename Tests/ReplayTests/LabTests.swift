import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End to end through the live director: `lvsd lab` builds client, director (lvsd run,
/// AF_PACKET engine) and three real servers in network namespaces, and sends real HTTP
/// requests with curl. Each mode must answer every request, spread them exactly as round
/// robin says (20 over 3 servers: 7, 7, 6), and leave no namespace behind.
@Suite(.serialized) struct LabTests {
    struct Outcome: Decodable {
        let id: String
        let mode: String
        let scheduler: String
        let requests: Int
        let failed: Int
        let responses: [String: Int]
        let weights: [Int]?
        let persistent: Int?
        let udp: UDP?
        let transfer: Transfer?
    }
    struct UDP: Decodable {
        let sent: Int
        let lost: Int
        let unexpected: Int
        let responses: [String: Int]
        let replySources: [String]
    }
    struct Transfer: Decodable {
        let bytes: Int
        let receivedBytes: Int
        let expectedSHA256: String
        let receivedSHA256: String
        let match: Bool
    }

    static func lab(_ arguments: [String]) throws -> (status: Int32, outcome: Outcome?, stderr: String) {
        let lvsd = try ReplayTests.requireLVSD()
        let run = try ReplayTests.run(lvsd, ["lab"] + arguments)
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(line.utf8))
        return (run.status, outcome, run.stderr)
    }

    static func namespaces(prefix: String) throws -> [String] {
        let run = try ReplayTests.run("/usr/sbin/ip", ["netns", "list"])
        return run.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }.filter { $0.hasPrefix(prefix) }
    }

    @Test("lvsd lab: 20 requests through the live director, rr spread 7/7/6, nothing left behind",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          arguments: ["nat", "fullnat", "dr", "tun"])
    func roundRobin(mode: String) throws {
        let result = try Self.lab(["--mode", mode, "--json", "--requests", "20"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --mode \(mode) (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(outcome.mode == mode)
        #expect(outcome.scheduler == "rr")
        #expect(outcome.requests == 20)
        #expect(outcome.failed == 0, "\(result.stderr)")
        #expect(outcome.responses.count == 3)
        #expect(outcome.responses.values.sorted() == [6, 7, 7], "\(outcome.responses)")
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd lab --ipv6: 12 requests over IPv6 through the live director (the director answers neighbour solicitations for its VIP)",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          arguments: ["nat", "fullnat", "dr"])
    func roundRobinIPv6(mode: String) throws {
        let result = try Self.lab(["--mode", mode, "--ipv6", "--json", "--requests", "12"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --mode \(mode) --ipv6 (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(outcome.failed == 0, "\(result.stderr)")
        #expect(outcome.responses.count == 3)
        #expect(outcome.responses.keys.allSatisfy { $0.contains(":") }, "\(outcome.responses)")
        #expect(outcome.responses.values.sorted() == [4, 4, 4], "\(outcome.responses)")
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd lab --scheduler wrr --weights 3,2,1: 24 requests split exactly 12/8/4 in real-server order",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"))
    func weightedRoundRobin() throws {
        let result = try Self.lab(["--mode", "nat", "--scheduler", "wrr", "--weights", "3,2,1", "--json", "--requests", "24"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --weights (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(outcome.scheduler == "wrr")
        #expect(outcome.weights == [3, 2, 1])
        #expect(outcome.failed == 0, "\(result.stderr)")
        #expect(outcome.responses == ["198.18.1.11": 12, "198.18.1.12": 8, "198.18.1.13": 4], "\(outcome.responses)")
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd lab --persistent 300: 12 connections from the one client all land on one real server",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"))
    func persistence() throws {
        let result = try Self.lab(["--mode", "nat", "--persistent", "300", "--json", "--requests", "12"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --persistent (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(outcome.persistent == 300)
        #expect(outcome.failed == 0, "\(result.stderr)")
        #expect(outcome.responses.values.sorted() == [0, 0, 12], "\(outcome.responses)")
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd lab --udp (NAT): 12 datagrams from new source ports, none lost, rr 4/4/4, every reply from the VIP",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"))
    func udpNAT() throws {
        let result = try Self.lab(["--mode", "nat", "--udp", "--json", "--requests", "12"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --udp (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        let udp = try #require(outcome.udp)
        #expect(udp.sent == 12)
        #expect(udp.lost == 0, "\(result.stderr)")
        #expect(udp.unexpected == 0)
        #expect(udp.responses == ["198.18.1.11": 4, "198.18.1.12": 4, "198.18.1.13": 4], "\(udp.responses)")
        #expect(udp.replySources == ["198.18.0.10"], "\(udp.replySources)")
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd lab --transfer 100 (NAT): a 100 MiB download through the director arrives whole, sha256 equal to the served file's",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"))
    func largeTransferNAT() throws {
        let result = try Self.lab(["--mode", "nat", "--transfer", "100", "--json", "--requests", "3"])
        let outcome = try #require(result.outcome, "no JSON from lvsd lab --transfer (exit \(result.status)):\n\(result.stderr)")
        #expect(result.status == 0, "\(result.stderr)")
        let transfer = try #require(outcome.transfer)
        #expect(transfer.bytes == 100 * 1_048_576)
        #expect(transfer.receivedBytes == transfer.bytes)
        #expect(transfer.expectedSHA256.count == 64)
        #expect(transfer.receivedSHA256 == transfer.expectedSHA256)
        #expect(transfer.match)
        #expect(try Self.namespaces(prefix: "lvsl-\(outcome.id)-").isEmpty)
    }

    @Test("lvsd realserver --dry-run prints the VIP on lo, the ARP sysctls and, for TUN, rp_filter and the decapsulator")
    func realServerDryRun() throws {
        let lvsd = try ReplayTests.requireLVSD()
        let dr = try ReplayTests.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "dr", "--interface", "eth0", "--dry-run"])
        #expect(dr.status == 0)
        #expect(dr.stdout == """
            ip address replace 198.18.0.10/32 dev lo
            sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2

            """)
        let v6 = try ReplayTests.run(lvsd, ["realserver", "--vip", "2001:db8::10", "--mode", "dr", "--interface", "eth0", "--dry-run"])
        #expect(v6.stdout == "ip -6 address replace 2001:db8::10/128 dev lo nodad\n")
        let tun = try ReplayTests.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "tun", "--interface", "eth0", "--dry-run"])
        #expect(tun.status == 0)
        #expect(tun.stdout.contains("net.ipv4.conf.all.rp_filter=0"))
        #expect(tun.stdout.contains("open TUN device lvstun0"))
        #expect(tun.stdout.hasSuffix("ip link set lvstun0 up\nsysctl -qw net.ipv4.conf.lvstun0.rp_filter=0\n"))
        let bad = try ReplayTests.run(lvsd, ["realserver", "--vip", "2001:db8::10", "--mode", "tun", "--dry-run"])
        #expect(bad.status != 0)
    }
}
