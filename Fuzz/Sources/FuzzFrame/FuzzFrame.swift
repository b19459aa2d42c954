import Core
import FrameInput
import Wire

// libFuzzer target: frames through `Director.process` (or `process(batch:)`), every
// forwarding method, IPv4 and IPv6, as FrameInput describes the input. Besides
// AddressSanitizer's and Swift's own traps, a verdict that leaves the frame outside its
// buffer or a counter that does not add up stops the run.
//
// Directors are kept between inputs, one per configuration (64): building one costs about
// 2 ms (the timer wheel's 8192 sentinels, Maglev tables), which held the target to ~500
// inputs/s. An input that leaves connections behind is followed by a jump of two hours and
// an expiry pass (again while templates remain), so the next input meets the configuration
// with an empty table, give or take scheduler positions and the FullNAT port ring.

final class Bench {
    let director: Director
    var clock: UInt64 = 1_000_000_000_000
    init(_ director: Director) { self.director = director }
}

nonisolated(unsafe) var benches = [Bench?](repeating: nil, count: 64)

func bench(_ b0: UInt8) -> Bench {
    let key = Int(b0 & 0x3F)
    if let b = benches[key] { return b }
    let (config, capacity) = FuzzLab.config(director: b0)
    let b = Bench(Director(config: config, capacity: capacity, now: 1_000_000_000_000))
    benches[key] = b
    return b
}

struct Arrival {
    var packet: PacketBuffer
    let allocation: UnsafeMutableRawPointer
    let expireFirst: Bool
    let now: UInt64
}

func check(_ verdict: Verdict, _ packet: PacketBuffer, capacity: Int) {
    switch verdict {
    case .forward(let out), .answer(let out):
        precondition(out >= 0, "\(verdict): negative interface")
        precondition(packet.offset >= 0 && packet.length >= EthernetFrame.headerLength
                     && packet.offset + packet.length <= capacity,
                     "\(verdict) left offset \(packet.offset) length \(packet.length) in a buffer of \(capacity)")
    case .pass, .drop:
        break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let b0 = data[0], b1 = data[1]
    let bench = bench(b0)
    let director = bench.director
    var now = bench.clock
    let received = director.framesReceived
    let handled = director.framesForwarded + director.framesAnswered + director.framesPassed + director.framesDropped

    // Cut the input into frames, each in an allocation of its own.
    var arrivals: [Arrival] = []
    var at = 2
    while at + FrameInput.recordHeaderLength <= size && arrivals.count < FrameInput.maximumRecords {
        let control = data[at], dt = data[at + 1]
        let declared = Int(data[at + 2]) << 8 | Int(data[at + 3])
        at += FrameInput.recordHeaderLength
        let length = min(declared, size - at)
        now &+= dt < 200 ? UInt64(dt) * 10_000_000 : UInt64(dt - 199) * 60_000_000_000
        let headroom = control & 0x20 != 0 ? 0 : PacketBuffer.recommendedHeadroom
        let tailroom = control & 0x40 != 0 ? 2048 : 0
        let capacity = headroom + length + tailroom
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0xA5, count: max(capacity, 1))
        (raw + headroom).copyMemory(from: data + at, byteCount: length)
        at += length
        let interface = [0, 1, 2, 255][Int(control & 3)]
        var partial = false, sinkFinishes = false
        var segmentation: PacketBuffer.Segmentation? = nil
        switch control >> 2 & 3 {
        case 1:  // AF_PACKET with a virtio-net header: a super-frame is always partial.
            partial = true
            sinkFinishes = true
            if control & 0x10 != 0 {
                segmentation = PacketBuffer.Segmentation(segmentSize: Int(dt) * 16, gsoType: [1, 3, 4, 5][Int(dt & 3)])
            }
        case 2:  // libpcap: partial, a super-frame when longer than the MTU allows.
            partial = true
            if length > 1500 + EthernetFrame.headerLength + 2 * 4 {
                segmentation = PacketBuffer.Segmentation(segmentSize: 0, gsoType: 0)
            }
        case 3:
            partial = true
        default:
            break
        }
        let packet = PacketBuffer(base: raw, capacity: capacity, offset: headroom, length: length, interface: interface,
                                  checksumPartial: partial, sinkFinishesChecksum: sinkFinishes, segmentation: segmentation)
        arrivals.append(Arrival(packet: packet, allocation: raw, expireFirst: control & 0x80 != 0, now: now))
    }
    defer { for a in arrivals { a.allocation.deallocate() } }

    if b1 & 1 != 0 && !arrivals.isEmpty {
        var packets = arrivals.map(\.packet)
        var verdicts = [Verdict](repeating: .pass(.notIP), count: packets.count)
        let last = arrivals[arrivals.count - 1].now
        if arrivals.contains(where: \.expireFirst) { director.expire(now: last) }
        packets.withUnsafeMutableBufferPointer { p in
            verdicts.withUnsafeMutableBufferPointer { v in
                director.process(batch: p.baseAddress!, count: p.count, verdicts: v.baseAddress!, now: last)
            }
        }
        for i in packets.indices { check(verdicts[i], packets[i], capacity: packets[i].capacity) }
    } else {
        for i in arrivals.indices {
            if arrivals[i].expireFirst { director.expire(now: arrivals[i].now) }
            let verdict = director.process(&arrivals[i].packet, now: arrivals[i].now)
            check(verdict, arrivals[i].packet, capacity: arrivals[i].packet.capacity)
        }
    }
    var passes = 0
    while director.table.count > 0 && passes < 3 {
        now &+= 7_200_000_000_000
        director.expire(now: now)
        passes += 1
    }
    bench.clock = now

    let n = UInt64(arrivals.count)
    precondition(director.framesReceived - received == n, "framesReceived grew by \(director.framesReceived - received), not \(n)")
    let sum = director.framesForwarded + director.framesAnswered + director.framesPassed + director.framesDropped
    precondition(sum - handled == n, "verdict counters grew by \(sum - handled) for \(n) frames")
    return 0
}
