import Core
import Wire

/// The loop behind `lvsd replay`: frames in, one `Director`, frames out.
///
/// Each frame is placed in one buffer after `PacketBuffer.recommendedHeadroom` bytes of
/// headroom (TUN grows the frame toward the head), run through `Director.process` with the
/// frame's capture time as `now`, and the frame as it stands afterwards (re-read at the
/// packet's new offset and length) is what a `.forward` or `.answer` sends. Pcap I/O stays
/// with the caller (`lvsd` and the replay tests pass the same `PacketIO` reader and
/// writer), so this type only needs `Core`.
///
/// Frames carry no interface in a pcap; a frame is taken to arrive on the interface whose
/// MAC it is addressed to (so a real server's reply arrives on the real-server side),
/// interface 0 otherwise.
public final class Replayer {
    public let config: DirectorConfig
    public let director: Director
    public static let headroom = PacketBuffer.recommendedHeadroom
    /// The largest frame replayed whole (a pcap record's maximum); longer ones are cut.
    public static let maximumFrame = 65_536
    /// Room after the frame for answers longer than the question (ICMP errors quote it).
    static let tailroom = 1024

    private let buffer: UnsafeMutableRawBufferPointer
    public private(set) var framesRead = 0

    /// - Parameter connections: the connection table's capacity (`--connections`).
    public init(config: DirectorConfig, connections: Int = 65_536) {
        self.config = config
        director = Director(config: config, capacity: max(connections, 1), now: 0)
        buffer = .allocate(byteCount: Self.headroom + Self.maximumFrame + Self.tailroom, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Runs every frame `next` provides, in order, until it returns nil.
    ///
    /// - Parameters:
    ///   - next: writes the next frame's bytes into the buffer at the offset given (after the
    ///     headroom) and returns its length and capture time in nanoseconds; nil at the end.
    ///   - emit: receives each frame to send (`.forward` or `.answer`) with its capture time.
    ///   - observe: receives every step, for tracing and tests.
    public func run(next: (UnsafeMutableRawBufferPointer, Int) throws -> (length: Int, nanoseconds: UInt64)?,
                    emit: (UnsafeRawBufferPointer, UInt64) throws -> Void,
                    observe: (ReplayStep) throws -> Void) rethrows {
        while true {
            let frameArea = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(Self.headroom + Self.maximumFrame)])
            guard let record = try next(frameArea, Self.headroom) else { return }
            let step = process(length: min(record.length, Self.maximumFrame), nanoseconds: record.nanoseconds)
            if let output = step.output {
                try output.withUnsafeBytes { try emit($0, record.nanoseconds) }
            }
            try observe(step)
        }
    }

    /// Replays one frame given as bytes.
    public func step(_ frame: [UInt8], nanoseconds: UInt64) -> ReplayStep {
        let length = min(frame.count, Self.maximumFrame)
        frame.withUnsafeBytes { source in
            // Safety: `length` fits the buffer after the headroom; the pointers stay in this closure.
            UnsafeMutableRawBufferPointer(rebasing: buffer[Self.headroom..<(Self.headroom + length)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<length]))
        }
        return process(length: length, nanoseconds: nanoseconds)
    }

    /// Processes the `length` bytes already at the headroom offset.
    func process(length: Int, nanoseconds: UInt64) -> ReplayStep {
        framesRead += 1
        let input = Array(buffer[Self.headroom..<(Self.headroom + length)])
        var packet = PacketBuffer(base: buffer.baseAddress!, capacity: buffer.count, offset: Self.headroom,
                                  length: length, interface: arrivalInterface(input))
        let arrival = packet.interface
        let verdict = director.process(&packet, now: nanoseconds)
        let output: [UInt8]?
        switch verdict {
        case .forward, .answer:
            output = Array(buffer[packet.offset..<(packet.offset + packet.length)])
        case .pass, .drop:
            output = nil
        }
        let event = director.lastEvent
        let connection: Connection? = event.connection != 0 ? director.table[event.connection] : nil
        return ReplayStep(number: framesRead, nanoseconds: nanoseconds, interface: arrival, verdict: verdict,
                          input: input, output: output, event: event, connection: connection)
    }

    /// The interface whose MAC the frame is addressed to, or 0.
    func arrivalInterface(_ frame: [UInt8]) -> Int {
        guard frame.count >= 6 else { return 0 }
        let destination = frame[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return config.interfaces.firstIndex { $0.mac.rawValue == destination } ?? 0
    }

    /// Frame and counter totals so far.
    public var summary: ReplaySummary {
        ReplaySummary(
            framesRead: framesRead,
            forwarded: director.framesForwarded, answered: director.framesAnswered,
            passed: director.framesPassed, dropped: director.framesDropped,
            drops: DropReason.allCases.compactMap { r in director.count(r) > 0 ? (r, director.count(r)) : nil },
            passes: PassReason.allCases.compactMap { r in director.count(r) > 0 ? (r, director.count(r)) : nil })
    }
}

/// One replayed frame: what came in, what the director decided, what went out.
public struct ReplayStep {
    /// 1-based, as Wireshark numbers frames.
    public let number: Int
    public let nanoseconds: UInt64
    /// The interface the frame was taken to arrive on.
    public let interface: Int
    public let verdict: Verdict
    public let input: [UInt8]
    /// The frame to send, for `.forward` and `.answer`.
    public let output: [UInt8]?
    public let event: PacketEvent
    /// The connection `event` names, as it stands after the frame.
    public let connection: Connection?

    /// The whole trace block: number, summary, field comparison, verdict, decision.
    ///
    /// ```
    /// #1 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
    ///     layer  field  before  after
    ///     ...
    ///   verdict: forward on eth1: TCP 198.18.0.1:40000 → 198.18.1.11:8080 [S] ...
    ///   connection: new connection TCP 198.18.0.1:40000 → 198.18.0.10:80 scheduled to ...
    /// ```
    public func trace(interfaces: [InterfaceConfig]) -> String {
        let arrival = interface < interfaces.count ? interfaces[interface].name : "interface \(interface)"
        let before = FrameFields.describe(input)
        var lines = ["#\(number) on \(arrival): \(before.summary)"]
        var verdictLine = "  verdict: " + TraceFormatter.verdict(verdict, interfaces: interfaces)
        if let output {
            let after = FrameFields.describe(output)
            lines.append(TraceFormatter.table(TraceFormatter.compare(before: before.fields, after: after.fields)))
            verdictLine += ": " + after.summary
        } else {
            lines.append(TraceFormatter.fields(before.fields))
        }
        lines.append(verdictLine)
        if let decision = TraceFormatter.decision(event, connection: connection) {
            lines.append("  connection: " + decision)
        }
        return lines.joined(separator: "\n")
    }
}

/// Totals of a replay: frames by verdict and every non-zero drop and pass counter.
public struct ReplaySummary {
    public var framesRead: Int
    public var forwarded: UInt64
    public var answered: UInt64
    public var passed: UInt64
    public var dropped: UInt64
    public var drops: [(reason: DropReason, count: UInt64)]
    public var passes: [(reason: PassReason, count: UInt64)]

    /// `14 frames read: 12 forwarded, 1 answered, 0 passed, 1 dropped`, then one line per
    /// non-zero counter (`  dropped no-connection: 1`).
    public var text: String {
        var lines = ["\(framesRead) frames read: \(forwarded) forwarded, \(answered) answered, \(passed) passed, \(dropped) dropped"]
        lines += drops.map { "  dropped \($0.reason): \($0.count)" }
        lines += passes.map { "  passed \($0.reason): \($0.count)" }
        return lines.joined(separator: "\n")
    }
}
