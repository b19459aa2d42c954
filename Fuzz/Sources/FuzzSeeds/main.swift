import AdminHarness
import Control
import Core
import Foundation
import FrameInput
import PacketBuilder
import Wire

// Writes the seed corpora under Corpus/<target>/ (run from Fuzz/: `swift run FuzzSeeds`).
// Frames are PacketBuilder's, as the golden-frame tests build them; the parsers' seeds are
// the documentation's own examples, the Samples/ rules files and the test fixtures, read
// from the repository, plus a few written here. Re-running it rewrites the same files, but
// for the key order of the control messages' JSON (JSONEncoder's, not sorted). It ends by
// counting the verdicts the frame seeds get from a fresh director.

let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let repository = fuzzDirectory.deletingLastPathComponent()
let corpus = fuzzDirectory.appendingPathComponent("Corpus")

func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
    let dir = corpus.appendingPathComponent(target)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try! Data(bytes).write(to: dir.appendingPathComponent(name))
}

func write(_ target: String, _ name: String, _ text: String) { write(target, name, Array(text.utf8)) }

func reset(_ target: String) {
    try? FileManager.default.removeItem(at: corpus.appendingPathComponent(target))
}

func read(_ path: String) -> String {
    try! String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
}

/// The fenced code blocks of a Markdown file.
func codeBlocks(_ markdown: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]?
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("```") {
            if let c = current { blocks.append(c.joined(separator: "\n") + "\n"); current = nil } else { current = [] }
        } else if current != nil {
            current!.append(line)
        }
    }
    return blocks
}

// MARK: - Frames

typealias F = FuzzLab.Family
typealias R = FrameInput.Record

let client = FrameInput.clientSide, server = FrameInput.serverSide

func ip(_ frame: Frame, _ f: F, from: String, to: String, ttl: UInt8 = 64) -> Frame {
    f.isIPv6 ? frame.ipv6(source: from, destination: to, hopLimit: ttl) : frame.ipv4(source: from, destination: to, ttl: ttl)
}

func l4(_ frame: Frame, _ proto: TransportProtocol, from: UInt16, to: UInt16, flags: TCPFlags = [.syn],
        seq: UInt32 = 1000, ack: UInt32 = 0) -> Frame {
    proto == .tcp ? frame.tcp(sourcePort: from, destinationPort: to, flags: flags, sequence: seq, acknowledgment: ack)
                  : frame.udp(sourcePort: from, destinationPort: to)
}

let toDirector = Frame.ethernet(destination: FuzzLab.directorClientMAC, source: FuzzLab.clientMAC)
let fromRS1 = Frame.ethernet(destination: FuzzLab.directorServerMAC, source: FuzzLab.rs1MAC)
let broadcast = MACAddress("ff:ff:ff:ff:ff:ff")!
let cport: UInt16 = 40000

func fromClient(_ f: F, _ proto: TransportProtocol, flags: TCPFlags = [.syn], payload: String = "", seq: UInt32 = 1000,
                ack: UInt32 = 0, ttl: UInt8 = 64) -> [UInt8] {
    l4(ip(toDirector, f, from: f.client, to: f.vip, ttl: ttl), proto, from: cport, to: FuzzLab.virtualPort, flags: flags,
       seq: seq, ack: ack).payload(payload).bytes
}

/// What real server 1 answers (NAT: to CIP; FullNAT: to LIP:1024, the first local port).
func fromServer(_ m: ForwardingMethod, _ f: F, _ proto: TransportProtocol, flags: TCPFlags = [.syn, .ack],
                payload: String = "") -> [UInt8] {
    let (to, port) = m == .fullNAT ? (f.lip, FuzzLab.firstLocalPort) : (f.client, cport)
    let rport = m == .nat || m == .fullNAT ? FuzzLab.realPort : FuzzLab.virtualPort
    return l4(ip(fromRS1, f, from: f.rs1, to: to), proto, from: rport, to: port, flags: flags, seq: 5000, ack: 1001)
        .payload(payload).bytes
}

func icmpError(_ outer: Frame, _ f: F, quoting inner: Frame, limit: Int? = nil) -> [UInt8] {
    (f.isIPv6 ? outer.icmpv6(type: 1, code: 4) : outer.icmpv4(type: 3, code: 4, rest: 1400)).quoting(inner, limit: limit).bytes
}

func neighbourSolicitation(for target: String) -> [UInt8] {
    let address = IPAddress(target)!
    let bytes = withUnsafeBytes(of: address.high.bigEndian, Array.init) + withUnsafeBytes(of: address.low.bigEndian, Array.init)
    let group = "ff02::1:ff" + String(format: "%02x:%02x%02x", bytes[13], bytes[14], bytes[15])
    let mac = MACAddress("33:33:ff:\(String(format: "%02x:%02x:%02x", bytes[13], bytes[14], bytes[15]))")!
    return Frame.ethernet(destination: mac, source: FuzzLab.clientMAC)
        .ipv6(source: FuzzLab.v6.client, destination: group, hopLimit: 255)
        .icmpv6(type: 135, code: 0).payload(bytes + [1, 1] + FuzzLab.clientMAC.octets).bytes
}

func frameSeeds() {
    reset("frame")
    let names: [ForwardingMethod: String] = [.directRouting: "dr", .nat: "nat", .fullNAT: "fullnat", .tunnel: "tun"]
    var count = 0
    for m in ForwardingMethod.allCases {
        let name = names[m]!
        let replies = m == .nat || m == .fullNAT
        for f in [FuzzLab.v4, FuzzLab.v6] {
            let fam = f.isIPv6 ? "v6" : "v4"
            // The variants each seed runs under: plain rr, persistence, a small table,
            // thresholds, worker slice with short timeouts.
            let variants: [UInt8] = f.isIPv6 ? [0, 3] : [0, 1, 2, 4, 8, 13]
            for variant in variants {
                let d = FrameInput.directorByte(m, variant: variant)
                let tag = "\(name)-\(fam)-var\(variant)"
                // A TCP conversation, with the real server's side when replies come back.
                var tcp: [R] = [R(control: client, bytes: fromClient(f, .tcp))]
                if replies { tcp.append(R(control: server, bytes: fromServer(m, f, .tcp))) }
                tcp.append(R(control: client, bytes: fromClient(f, .tcp, flags: [.ack], seq: 1001, ack: 5001)))
                tcp.append(R(control: client, bytes: fromClient(f, .tcp, flags: [.psh, .ack], payload: "GET / HTTP/1.0\r\n\r\n",
                                                               seq: 1001, ack: 5001)))
                if replies {
                    tcp.append(R(control: server, bytes: fromServer(m, f, .tcp, flags: [.psh, .ack], payload: "HTTP/1.0 200 OK\r\n\r\n")))
                    tcp.append(R(control: server, bytes: fromServer(m, f, .tcp, flags: [.fin, .ack])))
                }
                tcp.append(R(control: client, clockStep: 50, bytes: fromClient(f, .tcp, flags: [.fin, .ack], seq: 1019)))
                tcp.append(R(control: client, clockStep: 210, bytes: fromClient(f, .tcp, flags: [.syn], seq: 9000)))
                write("frame", "\(tag)-tcp-conversation", FrameInput.encode(director: d, tcp))
                // UDP both ways, and the same as one batch.
                var udp: [R] = [R(control: client, bytes: fromClient(f, .udp, payload: "query"))]
                if replies { udp.append(R(control: server, bytes: fromServer(m, f, .udp, payload: "answer"))) }
                udp.append(R(control: client, clockStep: 250, bytes: fromClient(f, .udp, payload: "again")))
                write("frame", "\(tag)-udp", FrameInput.encode(director: d, udp))
                write("frame", "\(tag)-udp-batch", FrameInput.encode(director: d, batch: true, udp))
                count += 3
                if variant != 0 { continue }

                // ICMP errors with quotes: from the real server about what the director sent
                // it, and from the client's side about a reply.
                let (src, sport) = m == .fullNAT ? (f.lip, FuzzLab.firstLocalPort) : (f.client, cport)
                let rport = replies ? FuzzLab.realPort : FuzzLab.virtualPort
                for proto in TransportProtocol.allCases {
                    let sent = l4(ip(.raw, f, from: src, to: f.rs1), proto, from: sport, to: rport)
                    let about = l4(ip(.raw, f, from: f.vip, to: f.client), proto, from: FuzzLab.virtualPort, to: cport,
                                   flags: [.syn, .ack])
                    for (limit, suffix) in [(nil, "whole"), (28, "short")] as [(Int?, String)] {
                        write("frame", "\(tag)-icmp-from-server-\(proto)-\(suffix)", FrameInput.encode(director: d, [
                            R(control: client, bytes: fromClient(f, proto)),
                            R(control: server, bytes: icmpError(ip(fromRS1, f, from: f.rs1, to: src), f, quoting: sent, limit: limit)),
                        ]))
                        write("frame", "\(tag)-icmp-from-client-\(proto)-\(suffix)", FrameInput.encode(director: d, [
                            R(control: client, bytes: fromClient(f, proto)),
                            R(control: client, bytes: icmpError(ip(toDirector, f, from: f.client, to: f.vip), f, quoting: about,
                                                                 limit: limit)),
                        ]))
                        count += 2
                    }
                }
                // Offloads: a GSO super-frame through AF_PACKET, a partial checksum, a
                // super-frame seen through libpcap.
                let big = String(repeating: "x", count: 4000)
                write("frame", "\(tag)-gso", FrameInput.encode(director: d, [
                    R(control: client, bytes: fromClient(f, .tcp)),
                    R(control: client | FrameInput.afPacketPartial | FrameInput.superFrame, clockStep: 90,
                      bytes: fromClient(f, .tcp, flags: [.ack, .psh], payload: big, seq: 1001)),
                ]))
                write("frame", "\(tag)-pcap-superframe", FrameInput.encode(director: d, [
                    R(control: client | FrameInput.libpcap, bytes: fromClient(f, .udp, payload: big)),
                ]))
                write("frame", "\(tag)-partial-checksum", FrameInput.encode(director: d, [
                    R(control: client | FrameInput.afPacketPartial, bytes: fromClient(f, .tcp, payload: "partial")),
                ]))
                // TTL 1, too big for the MTU, echo to the VIP.
                write("frame", "\(tag)-ttl1", FrameInput.encode(director: d, [R(bytes: fromClient(f, .udp, ttl: 1))]))
                write("frame", "\(tag)-too-big", FrameInput.encode(director: d, [
                    R(bytes: fromClient(f, .tcp, flags: [.syn], payload: String(repeating: "y", count: 1480)))]))
                let echo = ip(toDirector, f, from: f.client, to: f.vip)
                write("frame", "\(tag)-echo", FrameInput.encode(director: d, [
                    R(bytes: (f.isIPv6 ? echo.icmpv6(type: 128, code: 0, rest: 0x1234_0001)
                                       : echo.icmpv4(type: 8, code: 0, rest: 0x1234_0001)).payload("ping").bytes)]))
                count += 6
            }
        }
        let d = FrameInput.directorByte(m)
        let v4 = FuzzLab.v4, v6 = FuzzLab.v6
        // ARP for the VIP, a LIP and someone else; a reply; neighbour solicitations.
        var arp: [R] = []
        for target in [v4.vip, v4.lip, v4.rs1] {
            arp.append(R(bytes: Frame.ethernet(destination: broadcast, source: FuzzLab.clientMAC)
                .arp(operation: 1, senderMAC: FuzzLab.clientMAC, senderIP: v4.client, targetMAC: .zero, targetIP: target).bytes))
        }
        arp.append(R(control: server, bytes: Frame.ethernet(destination: FuzzLab.directorServerMAC, source: FuzzLab.rs1MAC)
            .arp(operation: 2, senderMAC: FuzzLab.rs1MAC, senderIP: v4.rs1, targetMAC: FuzzLab.directorServerMAC,
                 targetIP: v4.directorServer).bytes))
        write("frame", "\(name)-arp", FrameInput.encode(director: d, arp))
        write("frame", "\(name)-neighbour-solicitation", FrameInput.encode(director: d, [
            R(bytes: neighbourSolicitation(for: v6.vip)), R(bytes: neighbourSolicitation(for: v6.lip)),
            R(bytes: neighbourSolicitation(for: v6.rs2)),
        ]))
        // VLAN, IPv4 options and fragments, IPIP to the VIP, IPv6 extension headers and fragments.
        let vlan = Frame.ethernet(destination: FuzzLab.directorClientMAC, source: FuzzLab.clientMAC, vlan: 42)
        write("frame", "\(name)-vlan", FrameInput.encode(director: d, [
            R(bytes: l4(ip(vlan, v4, from: v4.client, to: v4.vip), .tcp, from: cport, to: 80).bytes)]))
        write("frame", "\(name)-ipv4-options", FrameInput.encode(director: d, [
            R(bytes: toDirector.ipv4(source: v4.client, destination: v4.vip, options: [1, 1, 1, 1, 0x94, 4, 0, 0])
                .tcp(sourcePort: cport, destinationPort: 80, flags: [.syn]).bytes)]))
        var fragments: [R] = []
        for proto in TransportProtocol.allCases {
            let first = toDirector.ipv4(source: v4.client, destination: v4.vip, identification: 0x1111, dontFragment: false,
                                        moreFragments: true)
            fragments.append(R(bytes: l4(first, proto, from: cport + 1, to: 80).payload(String(repeating: "a", count: 64)).bytes))
            fragments.append(R(bytes: toDirector.ipv4(source: v4.client, destination: v4.vip, identification: 0x1111,
                                                      dontFragment: false, fragmentOffset: 72)
                .protocolNumber(proto == .tcp ? 6 : 17).payload(String(repeating: "b", count: 40)).bytes))
        }
        write("frame", "\(name)-ipv4-fragments", FrameInput.encode(director: d, fragments))
        let inner = Frame.raw.ipv4(source: v4.client, destination: v4.vip).tcp(sourcePort: cport, destinationPort: 80, flags: [.syn])
        write("frame", "\(name)-ipip", FrameInput.encode(director: d, [
            R(bytes: toDirector.ipv4(source: v4.client, destination: v4.vip).quoting(inner).bytes)]))
        let base6 = toDirector.ipv6(source: v6.client, destination: v6.vip)
        write("frame", "\(name)-ipv6-extensions", FrameInput.encode(director: d, [
            R(bytes: base6.ipv6Extension(0).tcp(sourcePort: cport, destinationPort: 80, flags: [.syn]).bytes),
            R(bytes: base6.ipv6Extension(0).ipv6Extension(43, optionBytes: 14).ipv6Extension(60)
                .udp(sourcePort: cport, destinationPort: 80).payload("ext").bytes),
            R(bytes: base6.ipv6Extension(51, optionBytes: 14).tcp(sourcePort: cport + 1, destinationPort: 80, flags: [.syn]).bytes),
        ]))
        write("frame", "\(name)-ipv6-fragments", FrameInput.encode(director: d, [
            R(bytes: l4(base6.ipv6Fragment(offset: 0, more: true, identification: 0xABCD), .udp, from: cport, to: 80)
                .payload(String(repeating: "c", count: 64)).bytes),
            R(bytes: base6.ipv6Fragment(offset: 80, more: false, identification: 0xABCD).protocolNumber(17)
                .payload(String(repeating: "d", count: 40)).bytes),
        ]))
        count += 8
    }
    print("FuzzSeeds: frame: \(count) inputs")
}

// MARK: - Parsers

func httpSeeds() {
    reset("http-response")
    let responses = [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "HTTP/1.0 200 OK\r\nServer: nginx\r\n\r\nbody until close",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\ncontent-length:0\r\n\r\n",
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\n\r\nnot now, ok?extra",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
    ]
    for (i, r) in responses.enumerated() {
        for (j, first) in ([0x01, 0x00, 0xFF, 0x08] as [UInt8]).enumerated() {
            write("http-response", "response-\(i)-\(j)", [first] + Array(r.utf8))
        }
    }
    print("FuzzSeeds: http-response: \(responses.count * 4) inputs")
}

func keepalivedSeeds() {
    reset("keepalived")
    var n = 0
    for (i, block) in codeBlocks(read("Docs/keepalived-conf.md")).enumerated() where block.count > 20 {
        write("keepalived", "doc-\(i).conf", block)
        n += 1
    }
    write("keepalived", "fixture-seed-002.conf", read("Tests/ControlTests/Fixtures/seed-002-keepalived.conf"))
    write("keepalived", "everything.conf", """
        ! Every part lvsd reads, in one file.
        global_defs {
            router_id lb1
            lvs_timeouts tcp 900 tcpfin 120 udp 300
        }
        lvsd_director {
            interface eth0 mac 02:00:00:00:00:0a address 198.18.0.2 address 2001:db8::2
            interface eth1 mac 02:00:00:00:01:0a address 198.18.1.1
            neighbour 198.18.1.11 mac 02:00:00:00:01:0b interface eth1
        }
        local_address_group laddr_g1 {
            198.18.1.100
            198.18.1.101-103
        }
        virtual_server_group web {
            198.18.0.10 80
            198.18.0.20-22 8080
        }
        virtual_server group web {
            delay_loop 6
            lb_algo wlc
            lb_kind NAT
            protocol TCP
            persistence_timeout 300
            persistence_granularity 255.255.255.0
            real_server 198.18.1.11 8080 {
                weight 3
                uthreshold 100
                lthreshold 50
                HTTP_GET {
                    url {
                        path /health
                        status_code 200
                        digest 9b3a9a6c0e0a1d8b3f0b1c2d3e4f5a6b
                    }
                    connect_timeout 3
                    retry 3
                    delay_before_retry 2
                }
            }
            real_server 198.18.1.12 8080 {
                weight 1
                TCP_CHECK {
                    connect_port 8080
                    connect_timeout 2
                }
            }
        }
        virtual_server 198.18.0.10 443 {
            lb_algo mh
            mh-port
            lb_kind FNAT
            laddr_group_name laddr_g1
            protocol TCP
            real_server 198.18.1.11 443 {
                SSL_GET {
                    url {
                        path /
                        status_code 200-299
                    }
                }
            }
        }
        virtual_server 2001:db8::10 53 {
            lb_algo sh
            sh-fallback
            lb_kind TUN
            protocol UDP
            real_server 2001:db8:1::11 53 {
                weight 0
                MISC_CHECK {
                    misc_path "/usr/local/bin/check dns"
                    misc_timeout 5
                }
                UDP_CHECK {
                    connect_port 53
                    payload 000102
                }
                PING_CHECK {
                }
            }
        }

        """)
    print("FuzzSeeds: keepalived: \(n + 2) inputs")
}

func rulesSeeds() {
    reset("rules")
    var n = 0
    for name in ["dr", "nat", "fullnat", "tun"] {
        write("rules", "sample-\(name).rules", read("Samples/\(name).rules"))
        n += 1
    }
    for (i, block) in codeBlocks(read("Docs/rules-file.md")).enumerated() where block.count > 10 {
        write("rules", "doc-\(i).rules", block)
        n += 1
    }
    write("rules", "harness.rules", AdminHarness.rules)
    print("FuzzSeeds: rules: \(n + 1) inputs")
}

func lvsadmSeeds() {
    reset("lvsadm")
    let lines = [
        "-A -t 198.18.0.10:80 -s rr", "-A -t 198.18.0.9:80 -s wrr -p 300 -M 255.255.255.0",
        "-E -t 198.18.0.10:80 -s wlc -b sh-port", "-D -t 198.18.0.10:80",
        "-a -t 198.18.0.10:80 -r 198.18.1.13:8080 -m -w 2 -x 100 -y 50",
        "-e -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 0", "-d -t 198.18.0.10:80 -r 198.18.1.12:8080",
        "-a -t [2001:db8::10]:80 -r [2001:db8:1::12]:8080 -b -w 1", "-a -u 198.18.0.10:53 -r 198.18.1.12 -g",
        "-L -n", "-Ln", "-L -n -c", "-L -n --stats", "-L -n --rate", "-L -n --thresholds", "-L -n --persistent-conn",
        "-L -n --exact --stats", "-L -t 198.18.0.10:80 -n", "-S -n", "-S", "-C", "-Z", "-Z -t 198.18.0.10:80",
        "--set 900 60 120", "-h", "-v", "--socket /tmp/x.sock -L -n", "--health", "--reload",
        "-P -z 2001:db8:1::101 -t [2001:db8::10]:80", "-G -t [2001:db8::10]:80", "-Q -z 2001:db8:1::100 -t [2001:db8::10]:80",
        "-A -f 1 -s rr", "-A -t 198.18.0.12:0 -s lblc -p", "-L -n --sort",
    ]
    for (i, line) in lines.enumerated() { write("lvsadm", "argv-\(i)", line) }
    write("lvsadm", "restore", "-R\n-A -t 198.18.0.30:80 -s rr\n-a -t 198.18.0.30:80 -r 198.18.1.30:80 -g -w 1\n-C\n")
    print("FuzzSeeds: lvsadm: \(lines.count + 1) inputs")
}

func controlMessageSeeds() {
    reset("control-message")
    let commands = try! AdminRestore.commands("""
        -A -t 198.18.0.30:80 -s rr -p 60
        -a -t 198.18.0.30:80 -r 198.18.1.30:8080 -m -w 1 -x 10 -y 5
        -e -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2
        -D -t 198.18.0.11:443
        -Z
        --set 100 10 10
        """)
    let requests: [ControlRequest.Body] = [
        .apply(commands), .apply([commands[0]]), .snapshot(includeConnections: true), .snapshot(includeConnections: false),
        .reload, .health,
    ]
    for (i, body) in requests.enumerated() {
        write("control-message", "request-\(i)", [0] + (try! ControlFrame.encode(ControlRequest(body))))
    }
    write("control-message", "request-version-2", [0] + (try! ControlFrame.encode(ControlRequest(.health, version: 2))))
    // Answers, as lvsadm reads them (the body only: its reader took the header).
    let harness = AdminHarness()
    let snapshot = AdminSnapshot(director: harness.director, now: 1_000_000_000_000, includeConnections: true)
    let responses: [(UInt8, ControlResponse)] = [
        (1, .snapshot(snapshot)), (3, .snapshot(snapshot)), (5, .snapshot(snapshot)), (11, .snapshot(snapshot)),
        (21, .snapshot(snapshot)), (25, .text("health\n")), (23, .applied),
        (27, .failed(AdminError("lvsadm: refused", detail: "why", exitCode: 2))),
    ]
    for (i, (selector, response)) in responses.enumerated() {
        let frame = try! ControlFrame.encode(response)
        write("control-message", "response-\(i)", [selector] + frame.dropFirst(ControlFrame.headerLength))
    }
    print("FuzzSeeds: control-message: \(requests.count + 1 + responses.count) inputs")
}

/// Says which configuration seeds do not parse (they still seed the parser's error paths).
func report(_ target: String, _ parse: (String) throws -> Void) {
    let dir = corpus.appendingPathComponent(target)
    for name in try! FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
        let text = try! String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        do { try parse(text) } catch { print("FuzzSeeds: \(target)/\(name) does not parse: \(error)") }
    }
}

/// Runs every frame seed through a fresh director as the target would (no batch, no flags)
/// and counts verdicts, so a seed set that only reaches the parsers' rejections shows.
func frameCensus() {
    let dir = corpus.appendingPathComponent("frame")
    var tally: [String: Int] = [:]
    for name in try! FileManager.default.contentsOfDirectory(atPath: dir.path) {
        let input = [UInt8](try! Data(contentsOf: dir.appendingPathComponent(name)))
        let (config, capacity) = FuzzLab.config(director: input[0])
        let director = Director(config: config, capacity: capacity, now: 1_000_000_000_000)
        var now: UInt64 = 1_000_000_000_000
        var at = 2
        while at + 4 <= input.count {
            let length = min(Int(input[at + 2]) << 8 | Int(input[at + 3]), input.count - at - 4)
            let interface = Int(input[at] & 3)
            now += 10_000_000
            var frame = [UInt8](repeating: 0, count: 64) + input[(at + 4)..<(at + 4 + length)] + [UInt8](repeating: 0, count: 2048)
            let verdict = frame.withUnsafeMutableBytes { b in
                var p = PacketBuffer(base: b.baseAddress!, capacity: b.count, offset: 64, length: length, interface: interface)
                return director.process(&p, now: now)
            }
            let key: String
            switch verdict {
            case .forward: key = "forward"
            case .answer: key = "answer"
            case .pass(let r): key = "pass \(r)"
            case .drop(let r): key = "drop \(r)"
            }
            tally[key, default: 0] += 1
            at += 4 + length
        }
    }
    print("FuzzSeeds: frame verdicts: " + tally.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
}

// MARK: - VRRP adverts and IPIP frames

/// Adverts FuzzVRRP's routers accept (byte 0 asks the target to write the checksum), from
/// a lower and a higher peer, at several clock steps; and a priority 0 advert.
func vrrpSeeds() {
    reset("vrrp")
    func v2(vrid: UInt8, priority: UInt8, password: String) -> [UInt8] {
        var auth = Array(password.utf8.prefix(8)); auth += [UInt8](repeating: 0, count: 8 - auth.count)
        return [0x21, vrid, priority, 1, 1, 1, 0, 0, 198, 18, 0, 10] + auth
    }
    func v3(vrid: UInt8, priority: UInt8, addresses: [[UInt8]]) -> [UInt8] {
        [0x31, vrid, priority, UInt8(addresses.count), 0, 100, 0, 0] + addresses.flatMap { $0 }
    }
    let v6VIP: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x10]
    let messages: [(router: UInt8, bytes: [UInt8])] = [
        (0, v2(vrid: 51, priority: 150, password: "1111")), (0, v2(vrid: 51, priority: 0, password: "1111")),
        (1, v3(vrid: 51, priority: 200, addresses: [[198, 18, 0, 10], [198, 18, 0, 11]])),
        (2, v3(vrid: 7, priority: 120, addresses: [v6VIP])),
        (3, v2(vrid: 9, priority: 200, password: "secret")),
    ]
    var n = 0
    for (router, bytes) in messages {
        for source: UInt8 in [0, 1] {
            for step: UInt8 in [0, 2] {
                write("vrrp", "advert-\(n)", [router | 4 | 8 | source << 4 | step << 6] + bytes)
                n += 1
            }
        }
    }
    print("FuzzSeeds: vrrp: \(n) inputs")
}

/// IPIP frames to the real server from the director and from a stranger, and a frame
/// that is no tunnel, each with and without the director list (byte 0); then one frame of
/// each other encapsulation the director sends.
func tunnelSeeds() {
    reset("tunnel")
    let inner = Array(Frame.ethernet(destination: MACAddress(2, 0, 0, 0, 1, 2), source: MACAddress(2, 0, 0, 0, 1, 1))
        .ipv4(source: "198.18.0.9", destination: "198.18.0.100").tcp(sourcePort: 40000, destinationPort: 80, flags: [.syn], sequence: 1)
        .bytes.dropFirst(14))
    func ipip(from source: [UInt8]) -> [UInt8] {
        let total = 20 + inner.count
        return [2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 1, 0x08, 0x00,
                0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, 4, 0, 0]
            + source + [198, 18, 1, 2] + inner
    }
    let frames = [ipip(from: [198, 18, 1, 1]), ipip(from: [198, 19, 7, 7]),
                  Array(Frame.ethernet(destination: MACAddress(2, 0, 0, 0, 1, 2), source: MACAddress(2, 0, 0, 0, 1, 1))
                    .ipv4(source: "198.18.0.9", destination: "198.18.1.2").udp(sourcePort: 5000, destinationPort: 53).bytes)]
    // The other encapsulations, each as the director sends it: IPv4 in IPv6, IPv6 in IPv6,
    // GRE without and with its checksum, GUE on port 6080 (byte 0 bit 1 turns GUE on).
    let eth = Frame.ethernet(destination: MACAddress(2, 0, 0, 0, 1, 2), source: MACAddress(2, 0, 0, 0, 1, 1))
    let inner6 = Array(Frame.ethernet(destination: MACAddress(2, 0, 0, 0, 1, 2), source: MACAddress(2, 0, 0, 0, 1, 1))
        .ipv6(source: "2001:db8::9", destination: "2001:db8::100").tcp(sourcePort: 40000, destinationPort: 80, flags: [.syn], sequence: 1)
        .bytes.dropFirst(14))
    let outer6 = eth.ipv6(source: "2001:db8:1::1", destination: "2001:db8:1::2")
    let outer4 = eth.ipv4(source: "198.18.1.1", destination: "198.18.1.2")
    var greChecked = outer4.protocolNumber(.gre).payload([0x80, 0, 0x08, 0x00, 0, 0, 0, 0] + inner).bytes
    greChecked.withUnsafeMutableBytes { GREHeader.fillChecksum($0.baseAddress! + 34, length: $0.count - 34) }
    let more: [(UInt8, [UInt8])] = [
        (0, outer6.protocolNumber(.ipip).payload(inner).bytes),
        (1, outer6.protocolNumber(.ipv6).payload(inner6).bytes),
        (0, outer4.protocolNumber(.gre).payload([0, 0, 0x86, 0xDD] + inner6).bytes),
        (1, greChecked),
        (3, outer4.udp(sourcePort: 40001, destinationPort: 6080).payload([0, 4, 0, 0] + inner).bytes),
        (2, outer6.udp(sourcePort: 40001, destinationPort: 6080).payload([0, 41, 0, 0] + inner6).bytes),
    ]
    for (i, frame) in frames.enumerated() {
        write("tunnel", "frame-\(i)-open", [0] + frame)
        write("tunnel", "frame-\(i)-directors", [1] + frame)
    }
    for (i, (control, frame)) in more.enumerated() {
        write("tunnel", "encapsulation-\(i)", [control] + frame)
    }
    print("FuzzSeeds: tunnel: \(frames.count * 2 + more.count) inputs")
}

frameSeeds()
frameCensus()
vrrpSeeds()
tunnelSeeds()
httpSeeds()
keepalivedSeeds()
rulesSeeds()
lvsadmSeeds()
controlMessageSeeds()
report("keepalived") { _ = try KeepalivedFile.parse($0, file: "/nonexistent/keepalived.conf") }
report("rules") { _ = try RulesFile.parse($0, file: "seed.rules") }
