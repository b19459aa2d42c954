import Core
import PacketBuilder
import Testing
import Wire

/// `process(batch:)` is an optimisation only: it must give every frame the verdict, bytes
/// and counters that one-at-a-time `process` gives, in the same order.
@Suite struct BatchTests {
    @Test(arguments: [ForwardingMethod.nat, .directRouting, .fullNAT, .tunnel])
    func batchMatchesOneAtATime(_ method: ForwardingMethod) {
        var frames: [[UInt8]] = []
        for port in UInt16(1)...40 {
            frames.append(Lab.fromClient(Lab.v4, .tcp, clientPort: port).bytes)
            frames.append(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: port).bytes)
            frames.append(Lab.fromClient(Lab.v6, .udp, clientPort: port).bytes)
            frames.append(Array(Lab.fromClient(Lab.v4, .udp, clientPort: port).bytes.prefix(Int(port) % 40)))
            frames.append(Lab.fromClient(Lab.v4, .tcp, flags: [.fin, .ack], clientPort: port).bytes)
        }
        let single = Harness(Lab.config(method))
        let expected = frames.map { single.run($0) }

        let batched = Director(config: Lab.config(method), capacity: 4096, now: single.now)
        let stride = 2048
        let raw = UnsafeMutableRawPointer.allocate(byteCount: stride * frames.count, alignment: 64)
        defer { raw.deallocate() }
        var packets = frames.enumerated().map { i, f -> PacketBuffer in
            let base = raw + i * stride
            f.withUnsafeBytes { (base + 64).copyMemory(from: $0.baseAddress!, byteCount: f.count) }
            return PacketBuffer(base: base, capacity: stride, offset: 64, length: f.count)
        }
        var verdicts = [Verdict](repeating: .pass(.notIP), count: frames.count)
        packets.withUnsafeMutableBufferPointer { p in
            verdicts.withUnsafeMutableBufferPointer { v in
                batched.process(batch: p.baseAddress!, count: p.count, verdicts: v.baseAddress!, now: single.now)
            }
        }
        for (i, packet) in packets.enumerated() {
            #expect(verdicts[i] == expected[i].0, "frame \(i)")
            let out = Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
            #expect(out == expected[i].1, "frame \(i)")
        }
        #expect(batched.framesForwarded == single.director.framesForwarded)
        #expect(batched.framesDropped == single.director.framesDropped)
        #expect(batched.table.count == single.director.table.count)
    }
}
