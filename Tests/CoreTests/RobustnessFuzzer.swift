@testable import Core
import PacketBuilder
import TestSupport
import Testing
import Wire

// MARK: - The loop

/// What the test expects the director's counters to read, kept from the verdicts.
struct CounterMirror {
    var forwarded: UInt64 = 0
    var answered: UInt64 = 0
    var drops = [UInt64](repeating: 0, count: DropReason.allCases.count)
    var passes = [UInt64](repeating: 0, count: PassReason.allCases.count)
}

struct Fuzzer {
    static let maxFrame = 1600
    static let maxHeadroom = 80
    static let maxTailroom = 2048
    static let areaSize = maxHeadroom + 4096 + maxTailroom
    static let interestingBytes: [UInt8] = [0, 1, 2, 4, 5, 6, 8, 0x0F, 0x10, 0x11, 0x14, 0x28, 0x2C, 0x33, 0x3A, 0x3B,
                                            0x40, 0x45, 0x46, 0x4F, 0x50, 0x5F, 0x60, 0x7F, 0x80, 0x81, 0x86, 0xDD,
                                            0xF0, 0xFE, 0xFF]
    static let oddInterfaces = [0, 1, 2, 3, 7, 64, 255, 256, 1000]

    let scenario: Scenario
    let corpus: Corpus
    var rng: SplitMix64
    let director: Director
    var now: UInt64 = 1_000_000_000_000
    var mirror = CounterMirror()
    var failures: [String] = []
    var failureCount = 0
    var connectionsSeen = 0
    var repliesForwarded = 0

    init(scenario: Scenario, corpus: Corpus, seed: UInt64) {
        self.scenario = scenario
        self.corpus = corpus
        rng = SplitMix64(seed: seed)
        director = Director(config: scenario.config, capacity: scenario.capacity, hashSeed: seed, now: now)
    }

    mutating func fail(_ message: String) {
        failureCount += 1
        if failures.count < 8 { failures.append(message) }
    }

    mutating func run(frames: Int) {
        // Safety: `area` and `work` are allocated here, used only inside this function and
        // freed on return; every copy below stays inside them (lengths are clamped).
        let area = UnsafeMutableRawPointer.allocate(byteCount: Self.areaSize, alignment: 16)
        let work = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        defer { area.deallocate(); work.deallocate() }
        area.initializeMemory(as: UInt8.self, repeating: 0xA5, count: Self.areaSize)
        work.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)

        corpus.bytes.withUnsafeBytes { seedBytes in
            for n in 0..<frames {
                step(n, area: area, work: work, seeds: seedBytes)
                if n % 50_000 == 49_999 {
                    checkCounters()
                    for p in TableInvariants.check(director).prefix(3) { fail("frame \(n): \(p)") }
                }
            }
        }
        checkCounters()
    }

    mutating func step(_ n: Int, area: UnsafeMutableRawPointer, work: UnsafeMutableRawPointer,
                       seeds: UnsafeRawBufferPointer) {
        // The clock: small steps, and now and then a jump (up to ~1.4 wheel turns).
        now &+= UInt64(rng.next(below: 40_000_000))
        if rng.next(below: 20_000) == 0 { now &+= UInt64(1 + rng.next(below: 1500)) * 1_000_000_000 }
        if rng.next(below: 5_000) == 0 { director.expire(now: now) }
        // Operator changes mid-run: quiesce one server, remove another, restore the weight.
        if n == 60_000 || n == 120_000 || n == 180_000 { operatorChange(n) }

        let s = rng.next(below: corpus.count)
        var len = corpus.length[s]
        work.copyMemory(from: seeds.baseAddress! + corpus.start[s], byteCount: len)
        var interface = corpus.interface[s]
        let pristine = rng.next(below: 100) < 35
        if !pristine {
            len = mutate(work, length: len, seed: s, seeds: seeds)
            if rng.chance(30) { Self.fixLengths(work, length: len) }
            if rng.chance(70) { Self.fixIPv4Checksum(work, length: len) }
            if rng.chance(10) { interface = Self.oddInterfaces[rng.next(below: Self.oddInterfaces.count)] }
        }

        let headroom = [0, 64, 64, rng.next(below: Self.maxHeadroom + 1)][rng.next(below: 4)]
        let tailroom = [0, 0, rng.next(below: 65), Self.maxTailroom][rng.next(below: 4)]
        let capacity = headroom + len + tailroom
        // The buffer ends where the allocation ends, so ASan sees any read past `capacity`.
        let base = area + (Self.areaSize - capacity)
        (base + headroom).copyMemory(from: work, byteCount: len)
        var packet = PacketBuffer(base: base, capacity: capacity, offset: headroom, length: len, interface: interface,
                                  checksumPartial: rng.chance(10))
        let checksumBefore = pristine ? Self.transportChecksumValid(base + headroom, length: len) : nil

        let verdict = director.process(&packet, now: now)

        if director.framesReceived != UInt64(n + 1) { fail("frame \(n): framesReceived \(director.framesReceived)") }
        switch verdict {
        case .forward(let out), .answer(let out):
            let isForward: Bool
            if case .forward = verdict { isForward = true } else { isForward = false }
            if isForward {
                mirror.forwarded += 1
                if director.framesForwarded != mirror.forwarded { fail("frame \(n): forward not counted") }
                if director.lastEvent.newConnection { connectionsSeen += 1 }
                if director.lastEvent.direction == .fromRealServer {
                    repliesForwarded += 1
                    let c = director.table[director.lastEvent.connection]
                    if !c.method.repliesTraverseDirector || c.flags.contains(.template) {
                        fail("frame \(n) seed \(s): forwarded as a reply of a \(c.method) connection (template: \(c.flags.contains(.template)))")
                    }
                }
            } else {
                mirror.answered += 1
                if director.framesAnswered != mirror.answered { fail("frame \(n): answer not counted") }
                if out != interface { fail("frame \(n): answer on \(out), arrived on \(interface)") }
            }
            if out < 0 { fail("frame \(n): \(verdict)") }
            guard packet.offset >= 0, packet.length >= EthernetFrame.headerLength,
                  packet.offset + packet.length <= capacity, packet.base == base, packet.capacity == capacity
            else {
                fail("frame \(n) seed \(s): \(verdict) left offset \(packet.offset) length \(packet.length) of \(capacity)")
                return
            }
            checkEmitted(n, s, verdict, packet.frame, length: packet.length, checksumBefore: checksumBefore)
        case .pass(let r):
            mirror.passes[Int(r.rawValue)] += 1
            if director.count(r) != mirror.passes[Int(r.rawValue)] { fail("frame \(n): pass \(r) not counted") }
        case .drop(let r):
            mirror.drops[Int(r.rawValue)] += 1
            if director.count(r) != mirror.drops[Int(r.rawValue)] { fail("frame \(n): drop \(r) not counted") }
        }
        if director.framesForwarded != mirror.forwarded || director.framesAnswered != mirror.answered {
            fail("frame \(n): \(verdict) moved another counter")
        }
    }

    /// A frame the director sends must parse, carry a valid IPv4 header checksum, and keep a
    /// valid transport checksum it arrived with.
    mutating func checkEmitted(_ n: Int, _ s: Int, _ verdict: Verdict, _ frame: UnsafeMutableRawPointer, length: Int,
                               checksumBefore: Bool?) {
        guard let eth = try? EthernetFrame(frame, length: length) else {
            fail("frame \(n) seed \(s): \(verdict) emitted an unparseable Ethernet frame")
            return
        }
        switch eth.etherType {
        case EtherType.ipv4:
            guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength) else {
                fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv4 header")
                return
            }
            if !ip.isChecksumValid { fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv4 header checksum") }
        case EtherType.ipv6:
            if (try? IPv6Packet(eth.payload, length: eth.payloadLength)) == nil {
                fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv6 packet")
            }
        case EtherType.arp:
            break
        default:
            fail("frame \(n) seed \(s): \(verdict) emitted EtherType \(eth.etherType)")
        }
        if checksumBefore == true, Self.transportChecksumValid(frame, length: length) == false {
            fail("frame \(n) seed \(s): \(verdict) broke a valid transport checksum")
        }
    }

    mutating func checkCounters() {
        if director.framesForwarded != mirror.forwarded { fail("forwarded \(director.framesForwarded) != \(mirror.forwarded)") }
        if director.framesAnswered != mirror.answered { fail("answered \(director.framesAnswered) != \(mirror.answered)") }
        for r in DropReason.allCases where director.count(r) != mirror.drops[Int(r.rawValue)] {
            fail("drop counter \(r) reads \(director.count(r)), verdicts say \(mirror.drops[Int(r.rawValue)])")
        }
        for r in PassReason.allCases where director.count(r) != mirror.passes[Int(r.rawValue)] {
            fail("pass counter \(r) reads \(director.count(r)), verdicts say \(mirror.passes[Int(r.rawValue)])")
        }
        let sum = director.framesForwarded + director.framesAnswered + director.framesPassed + director.framesDropped
        if sum != director.framesReceived { fail("received \(director.framesReceived) but verdicts sum to \(sum)") }
    }

    mutating func operatorChange(_ n: Int) {
        let f = n == 120_000 ? Lab.v6 : Lab.v4
        for proto in TransportProtocol.allCases {
            let key = ServiceKey(proto, IPAddress(f.vip)!, Lab.virtualPort)
            switch n {
            case 60_000: director.setWeight(0, service: key, realServer: 0)
            case 120_000: director.removeRealServer(service: key, realServer: 1)
            default: director.setWeight(3, service: key, realServer: 0)
            }
        }
    }

    // MARK: Mutations

    /// Mutates the frame in `work` (length `length`) in place; returns the new length.
    mutating func mutate(_ work: UnsafeMutableRawPointer, length: Int, seed s: Int, seeds: UnsafeRawBufferPointer) -> Int {
        let b = work.assumingMemoryBound(to: UInt8.self)
        var len = length
        let kind = rng.next(below: 100)
        switch kind {
        case 0..<16:  // truncation at a length class
            len = truncationLength(len, seed: s)
        case 16..<30:  // one bit
            if len > 0 { flip(b, len) }
        case 30..<40:  // several bits
            for _ in 0..<(2 + rng.next(below: 15)) where len > 0 { flip(b, len) }
        case 40..<66:  // header fields
            for _ in 0..<(1 + rng.next(below: 3)) { overwriteField(b, len, seed: s) }
            if rng.chance(25) { len = truncationLength(len, seed: s) }
        case 66..<76:  // splice with another seed
            let o = rng.next(below: corpus.count)
            let cut = rng.next(below: len + 1)
            let from = rng.next(below: corpus.length[o] + 1)
            let tail = min(corpus.length[o] - from, Self.maxFrame - cut)
            (work + cut).copyMemory(from: seeds.baseAddress! + corpus.start[o] + from, byteCount: tail)
            len = cut + tail
        case 76..<86:  // garbage, often behind the seed's own Ethernet (and IP) header
            let keep = [0, 14, 14, 34, 54][rng.next(below: 5)]
            let newLength = rng.next(below: Self.maxFrame + 1)
            var i = min(keep, len, newLength)
            while i + 8 <= newLength {
                (work + i).storeBytes(of: rng.next(), as: UInt64.self)
                i += 8
            }
            while i < newLength {
                b[i] = UInt8(truncatingIfNeeded: rng.next())
                i += 1
            }
            len = newLength
        case 86..<92:  // trailing bytes (Ethernet padding or junk past the IP length)
            let extra = min(rng.next(below: 64), Self.maxFrame - len)
            for i in 0..<max(extra, 0) { b[len + i] = rng.chance(50) ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
            len += max(extra, 0)
        default:  // a bit of everything
            overwriteField(b, len, seed: s)
            if len > 0 { flip(b, len) }
            len = truncationLength(len, seed: s)
        }
        return len
    }

    mutating func flip(_ b: UnsafeMutablePointer<UInt8>, _ len: Int) {
        // Bias towards the headers, where the parsers live.
        let limit = rng.chance(75) ? min(len, 96) : len
        b[rng.next(below: limit)] ^= UInt8(1) << UInt8(rng.next(below: 8))
    }

    mutating func overwriteField(_ b: UnsafeMutablePointer<UInt8>, _ len: Int, seed s: Int) {
        let count = corpus.fieldCount[s]
        guard count > 0 else { return }
        let at = corpus.fields[corpus.fieldStart[s] + rng.next(below: count)]
        guard at < len else { return }
        b[at] = rng.chance(70) ? Self.interestingBytes[rng.next(below: Self.interestingBytes.count)]
                                : UInt8(truncatingIfNeeded: rng.next())
        if rng.chance(30) && at + 1 < len { b[at + 1] = UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Lengths where parsers change their minds: nothing, inside the Ethernet header, each
    /// header's edge and one either side, anywhere, one short.
    mutating func truncationLength(_ len: Int, seed s: Int) -> Int {
        let edges = [0, 1, 6, 12, 13, 14, 15, 17, 18, 22, 27, 33, 34, 35, 41, 42, 53, 54, 55, 61, 62, 66, 74, 75, 82,
                     94, 95, 102, 114]
        switch rng.next(below: 4) {
        case 0: return min(len, edges[rng.next(below: edges.count)])
        case 1:
            // Just before or after one of this frame's header fields.
            let count = corpus.fieldCount[s]
            guard count > 0 else { return len / 2 }
            let at = corpus.fields[corpus.fieldStart[s] + rng.next(below: count)]
            return min(len, max(0, at + rng.next(below: 3) - 1))
        case 2: return max(0, len - 1 - rng.next(below: 4))
        default: return rng.next(below: len + 1)
        }
    }

    // MARK: Fix-ups that let mutated frames past the first checks

    /// The offset of the L3 header and the EtherType, walking tags like the director does.
    static func l3(_ b: UnsafeMutablePointer<UInt8>, _ len: Int) -> (offset: Int, type: Int)? {
        guard len >= 14 else { return nil }
        var off = 12
        var type = Int(b[off]) << 8 | Int(b[off + 1])
        var tags = 0
        while (type == 0x8100 || type == 0x88A8) && tags < 2 && off + 6 <= len {
            off += 4
            tags += 1
            type = Int(b[off]) << 8 | Int(b[off + 1])
        }
        return (off + 2, type)
    }

    /// Makes the IPv4 total length or IPv6 payload length match the bytes present.
    static func fixLengths(_ work: UnsafeMutableRawPointer, length len: Int) {
        let b = work.assumingMemoryBound(to: UInt8.self)
        guard let (l3, type) = l3(b, len) else { return }
        if type == 0x0800 && l3 + 20 <= len {
            work.storeBytes(of: UInt16(len - l3).bigEndian, toByteOffset: l3 + 2, as: UInt16.self)
        } else if type == 0x86DD && l3 + 40 <= len {
            work.storeBytes(of: UInt16(len - l3 - 40).bigEndian, toByteOffset: l3 + 4, as: UInt16.self)
        }
    }

    /// Recomputes the outer IPv4 header checksum when the header fits.
    static func fixIPv4Checksum(_ work: UnsafeMutableRawPointer, length len: Int) {
        let b = work.assumingMemoryBound(to: UInt8.self)
        guard let (l3, type) = l3(b, len), type == 0x0800, l3 + 20 <= len else { return }
        let ihl = Int(b[l3] & 0x0F) * 4
        guard ihl >= 20, l3 + ihl <= len else { return }
        b[l3 + 10] = 0
        b[l3 + 11] = 0
        let sum = Checksum.finish(Checksum.sum(work + l3, count: ihl))
        work.storeBytes(of: sum.bigEndian, toByteOffset: l3 + 10, as: UInt16.self)
    }

    /// Whether the frame's TCP, UDP or ICMP checksum is right; nil when there is none to check
    /// (fragments, IPIP, other protocols, unparseable frames).
    static func transportChecksumValid(_ frame: UnsafeMutableRawPointer, length: Int) -> Bool? {
        guard let eth = try? EthernetFrame(frame, length: length) else { return nil }
        if eth.etherType == EtherType.ipv4 {
            guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
            switch ip.protocol {
            case IPProtocol.tcp:
                return (try? TCPSegment(ip.payload, length: ip.payloadLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.udp:
                return (try? UDPDatagram(ip.payload, length: ip.payloadLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.icmp:
                return (try? ICMPv4Message(ip.payload, length: ip.payloadLength))?.isChecksumValid
            default: return nil
            }
        }
        if eth.etherType == EtherType.ipv6 {
            guard let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
            switch ip.upperProtocol {
            case IPProtocol.tcp:
                return (try? TCPSegment(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.udp:
                return (try? UDPDatagram(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.icmpv6:
                return (try? ICMPv6Message(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            default: return nil
            }
        }
        return nil
    }
}

// MARK: - Connection table invariants

enum TableInvariants {
    /// Everything that must hold between frames; returns what does not.
    static func check(_ d: Director) -> [String] {
        var problems: [String] = []
        var visited = 0
        var conns = [Int](repeating: 0, count: d.realServerCount)
        var active = [Int](repeating: 0, count: d.realServerCount)
        var templates = [Int](repeating: 0, count: d.realServerCount)
        var controlled: [ConnectionHandle: Int] = [:]
        var templateControlled: [ConnectionHandle: UInt32] = [:]
        var localPortsHeld = [Int](repeating: 0, count: d.localPools.count)
        var localPortsSeen: Set<UInt32> = []
        d.table.forEach { h, c in
            visited += 1
            let rs = Int(c.realServer)
            guard c.flags.contains(.inUse), rs < d.realServerCount else {
                problems.append("connection \(h) has flags \(c.flags.rawValue) and real server \(rs)")
                return
            }
            if c.flags.contains(.template) {
                templates[rs] += 1
                templateControlled[h] = c.controlled
                if c.flags.contains(.hashedOut) { problems.append("template \(h) is in the out-hash") }
            } else {
                conns[rs] += 1
                if !c.flags.contains(.inactive) {
                    active[rs] += 1
                    if c.state != .established { problems.append("connection \(h) active in state \(c.state)") }
                }
                if c.template != 0 { controlled[c.template, default: 0] += 1 }
                if c.flags.contains(.hashedOut) != c.method.repliesTraverseDirector {
                    problems.append("connection \(h) (\(c.method)) hashedOut=\(c.flags.contains(.hashedOut))")
                }
                if c.method == .fullNAT {
                    localPortsHeld[Int(c.localPool)] += 1
                    if !localPortsSeen.insert(UInt32(c.localPool) << 16 | UInt32(c.localPort)).inserted {
                        problems.append("local port \(c.localPort) of pool \(c.localPool) held twice")
                    }
                }
            }
            // Each hashed entry is what its own key finds.
            if !c.flags.contains(.unhashed) {
                let b = d.table.bucket(c.proto, source: c.clientAddress, sourcePort: c.clientPort,
                                       destination: c.virtualAddress, destinationPort: c.virtualPort)
                let found = d.table.lookupIn(bucket: b, c.proto, client: c.clientAddress, clientPort: c.clientPort,
                                             virtual: c.virtualAddress, virtualPort: c.virtualPort,
                                             template: c.flags.contains(.template))
                if found != h { problems.append("in-lookup of \(h) finds \(found)") }
            }
            if c.flags.contains(.hashedOut) {
                let (rd, rp) = c.replyDestination
                let b = d.table.bucket(c.proto, source: c.destinationAddress, sourcePort: c.destinationPort,
                                       destination: rd, destinationPort: rp)
                let found = d.table.lookupOut(bucket: b, c.proto, realServer: c.destinationAddress,
                                              realPort: c.destinationPort, replyDestination: rd, replyPort: rp)
                if found != h { problems.append("out-lookup of \(h) finds \(found)") }
            }
        }
        if visited != d.table.count { problems.append("table.count \(d.table.count) but forEach visits \(visited)") }
        for i in 0..<d.realServerCount {
            let rs = d.realServer(at: i)
            if Int(rs.activeConnections) + Int(rs.inactiveConnections) != conns[i] {
                problems.append("real server \(i): active \(rs.activeConnections) + inactive \(rs.inactiveConnections) but \(conns[i]) connections")
            }
            if Int(rs.activeConnections) != active[i] {
                problems.append("real server \(i): active \(rs.activeConnections) but \(active[i]) active connections")
            }
            if Int(rs.persistentConnections) != templates[i] {
                problems.append("real server \(i): persistent \(rs.persistentConnections) but \(templates[i]) templates")
            }
        }
        for (t, n) in templateControlled where Int(n) != controlled[t, default: 0] {
            problems.append("template \(t) says it controls \(n), \(controlled[t, default: 0]) point at it")
        }
        for (t, _) in controlled where templateControlled[t] == nil {
            problems.append("connections point at template \(t), which is not a live template")
        }
        for (k, box) in d.localPools.enumerated() {
            let size = box.pool.range.count
            if box.pool.available + localPortsHeld[k] != size {
                problems.append("local pool \(k): \(box.pool.available) free + \(localPortsHeld[k]) held != \(size)")
            }
        }
        return problems
    }
}
