import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad VRRP adverts on the wire (issue 14): a raw IP-protocol-112 socket in the client's
/// namespace sends each kind a different number of times, all claiming priority 254 for the
/// pair's VRID, so any one accepted would demote the master at once. Both directors count
/// each kind under its own name (`lvsd`'s stop summary) and neither changes state.
@Suite(.serialized) struct VRRPBadAdvertE2ETests {
    /// Each kind, how often it is sent, and the counter it must land in.
    static let kinds: [(kind: String, times: Int, counter: String?)] = [
        ("auth", 1, "auth_failure"), ("ttl", 2, "ttl_error"), ("checksum", 3, "bad_checksum"),
        ("truncated", 4, "truncated"), ("count", 5, "address_count_mismatch"),
        ("addresses", 6, "address_list_mismatch"), ("interval", 7, "interval_mismatch"),
        // Another VRID is another router's advert: not ours, not bad, no effect.
        ("vrid", 3, nil),
    ]

    static let sender = """
        import socket, struct, sys, time
        def csum(b):
            if len(b) % 2:
                b += b"\\0"
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            while s >> 16:
                s = (s & 0xffff) + (s >> 16)
            return ~s & 0xffff
        VIP = socket.inet_aton("198.18.0.100")
        def advert(vrid=61, count=1, addrs=(VIP,), auth=b"lvsha\\0\\0\\0", interval=1, bad=False):
            body = struct.pack("!BBBBBBH", 0x21, vrid, 254, count, 1, interval, 0) + b"".join(addrs) + auth
            c = csum(body) ^ (0x5a5a if bad else 0)
            return body[:6] + struct.pack("!H", c) + body[8:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.0.2"))
        kinds = {
            "auth": (advert(auth=b"wrongpw\\0"), 255),
            "ttl": (advert(), 64),
            "checksum": (advert(bad=True), 255),
            "truncated": (advert()[:6], 255),
            "count": (advert(count=2), 255),
            "addresses": (advert(count=2, addrs=(VIP, socket.inet_aton("198.18.0.101"))), 255),
            "interval": (advert(interval=3), 255),
            "vrid": (advert(vrid=62), 255),
        }
        for arg in sys.argv[1:]:
            kind, times = arg.split("=")
            packet, ttl = kinds[kind]
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            for _ in range(int(times)):
                s.sendto(packet, ("224.0.0.18", 0))
                time.sleep(0.02)
        print("sent", flush=True)
        """

    /// The number after `name` in the line of VI_1's counters, 0 when it is not there.
    static func counter(_ name: String, in log: String) -> Int {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("lvsd: vrrp: VI_1:") && $0.contains("last transition") }),
              let range = line.range(of: " \(name) ") else { return 0 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    @Test("bad adverts of every kind, injected with a raw socket: counted by name on both directors, no state change",
          .enabled(if: getuid() == 0, "needs root for network namespaces"))
    func badAdvertsAreCountedAndChangeNothing() throws {
        let lab = try HALab(tag: "v")
        defer { lab.tearDown() }
        try lab.build()
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 15)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        let run = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.ns("c"), "/usr/bin/python3", "-c", Self.sender]
                                  + Self.kinds.map { "\($0.kind)=\($0.times)" })
        #expect(run.status == 0 && run.stdout.contains("sent"), "sender: \(run.stderr)")
        // Longer than Skew_Time: an accepted priority-254 advert would have demoted A by now.
        usleep(1_500_000)
        #expect(lab.state(.a) == "MASTER")
        #expect(lab.state(.b) == "BACKUP")
        let logA = try lab.stopDirector(.a, log: "a")
        let logB = try lab.stopDirector(.b, log: "b")
        for (name, log) in [("A", logA), ("B", logB)] {
            #expect(log.components(separatedBy: "-> MASTER").count == (name == "A" ? 2 : 1), "\(name) changed state:\n\(log)")
            #expect(!log.contains("-> BACKUP (higher priority"), "\(name):\n\(log)")
            for kind in Self.kinds {
                guard let counter = kind.counter else { continue }
                #expect(Self.counter(counter, in: log) == kind.times, "\(name): \(counter) after \(kind.times) '\(kind.kind)' adverts:\n\(log.split(separator: "\n").filter { $0.contains("vrrp") }.joined(separator: "\n"))")
            }
        }
    }
}
