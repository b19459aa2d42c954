import CLinuxPacket
#if canImport(Glibc)
import Glibc
#endif

/// An AF_PACKET raw socket bound to one interface for every EtherType (ETH_P_ALL), with
/// TPACKET_V2 or V3 receive and transmit rings, or none (a socket that only `send`s).
///
/// Setup order is the kernel's: the version, PACKET_VNET_HDR, PACKET_RESERVE and PACKET_LOSS
/// before the rings, the rings and
/// their single mapping, socket options, then `bind` (which starts reception) and last the
/// fanout group (the kernel only lets a bound socket join). The socket is non-blocking:
/// waiting happens only in `wait(for:timeoutMilliseconds:)`.
///
/// Network namespace: the socket belongs to the namespace of the thread that creates it, and
/// stays there. Create it on a thread that has entered the right namespace
/// (`NetworkNamespace.enterOnCurrentThread`).
///
/// One thread uses a socket and its rings at a time (they are not `Sendable`); with fanout,
/// each worker opens its own socket in the same group.
public final class PacketSocket {
    /// How to join a PACKET_FANOUT group: sockets on one interface with the same group id
    /// share its received frames, each frame going to one of them.
    public struct Fanout: Equatable, Sendable {
        public enum Mode: Equatable, Sendable {
            /// PACKET_FANOUT_HASH: by the kernel's flow hash, so both directions of a flow
            /// with the same addresses land on one socket.
            case hash
            /// PACKET_FANOUT_CPU: by the CPU that received the frame.
            case cpu
            /// PACKET_FANOUT_LB: round robin, ignoring flows.
            case roundRobin
            /// PACKET_FANOUT_CBPF: by a classic BPF program (`attachFanoutProgram`) that
            /// returns the member's index; until one is attached every frame goes to the first
            /// member. Members are numbered in the order they joined.
            case program
        }

        /// The group id; ignored (0) when `allocateGroup` is set.
        public var group: UInt16
        public var mode: Mode
        /// Ask the kernel for a group id no other group in this network namespace uses
        /// (PACKET_FANOUT_FLAG_UNIQUEID). The first member sets this; the others join with
        /// its `PacketSocket.fanoutGroup`.
        public var allocateGroup: Bool

        public init(group: UInt16, mode: Mode = .hash) {
            self.group = group
            self.mode = mode
            allocateGroup = false
        }

        /// The first member of a new group whose id the kernel picks.
        public static func newGroup(mode: Mode) -> Fanout {
            var fanout = Fanout(group: 0, mode: mode)
            fanout.allocateGroup = true
            return fanout
        }

        var kernelMode: Int32 {
            switch mode {
            case .hash: PACKET_FANOUT_HASH
            case .cpu: PACKET_FANOUT_CPU
            case .roundRobin: PACKET_FANOUT_LB
            case .program: PACKET_FANOUT_CBPF
            }
        }
    }

    public struct Configuration: Equatable, Sendable {
        /// PACKET_VERSION of both rings.
        public var version = RingVersion.v3
        /// PACKET_VNET_HDR: a virtio-net header before every frame, both ways, so GSO/GRO
        /// super-frames and partial checksums keep their meaning (`VirtioNetHeader`).
        public var virtioNetHeader = false
        /// PACKET_RESERVE: extra bytes the kernel leaves free before each received frame
        /// (headroom for rewriting in place, e.g. an IPIP header).
        public var reserve = 0
        /// false: bind with protocol 0, so the socket receives nothing (a sender only).
        public var receives = true
        /// nil: no RX ring (a send-only socket).
        public var receiveRing: RingGeometry? = .receiveDefault
        /// nil: no TX ring (a receive-only socket).
        public var transmitRing: RingGeometry? = .transmitDefault
        public var fanout: Fanout? = nil
        /// PACKET_QDISC_BYPASS: hand TX frames to the driver directly, skipping the qdisc
        /// (and other packet sockets' taps). Faster; frames are dropped rather than queued
        /// when the device is busy.
        public var bypassQdisc = true
        /// PACKET_IGNORE_OUTGOING: do not receive frames this host sends on the interface,
        /// so a forwarder never sees its own (or the host's) output as input.
        public var ignoreOutgoing = true
        /// SO_RCVBUFFORCE, in bytes (`/proc/sys/net/core` may be read-only; FORCE ignores
        /// its limits as root). nil leaves the default.
        public var receiveBufferBytes: Int? = nil
        /// SO_SNDBUFFORCE, in bytes: bounds how many TX ring frames can be in flight.
        public var sendBufferBytes: Int? = nil

        public init() {}
    }

    /// Readiness reported by `wait(for:timeoutMilliseconds:)`.
    public struct Readiness: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        /// An RX block is ready for user space.
        public static let readable = Readiness(rawValue: Int16(POLLIN))
        /// The TX ring's next frame slot is free.
        public static let writable = Readiness(rawValue: Int16(POLLOUT))
    }

    /// Counters from PACKET_STATISTICS. The kernel resets them on every read.
    public struct Statistics: Equatable, Sendable {
        /// Frames the socket received (including dropped ones).
        public var packets: UInt32
        /// Frames dropped because the RX ring was full.
        public var drops: UInt32
        /// Times the ring was frozen because user space fell behind.
        public var freezeCount: UInt32
    }

    public let interface: String
    public let interfaceIndex: Int32
    /// The RX ring, if configured.
    public let receiveRing: RXRing?
    /// The TX ring, if configured.
    public let transmitRing: TXRing?
    private let handle: PacketSocketHandle

    /// The socket descriptor, for an external event loop; PacketSocket keeps ownership.
    public var descriptor: Int32 { handle.descriptor }

    /// Opens, configures and binds the socket; throws a `PacketIOError` naming the step and
    /// the interface, after closing whatever was opened.
    public init(interface: String, configuration: Configuration = Configuration()) throws(PacketIOError) {
        guard !interface.isEmpty, interface.utf8.count < Int(IF_NAMESIZE) else {
            throw PacketIOError(message:
                "cannot open AF_PACKET socket on '\(interface)': an interface name has 1 to \(IF_NAMESIZE - 1) characters")
        }
        try configuration.receiveRing?.validate(ring: "RX", interface: interface, version: configuration.version)
        try configuration.transmitRing?.validate(ring: "TX", interface: interface, version: configuration.version)
        guard configuration.reserve >= 0, configuration.reserve <= 1024 else {
            throw PacketIOError(message: "cannot open AF_PACKET socket on \(interface): reserve \(configuration.reserve) must be 0 to 1024 bytes")
        }

        let descriptor: Int32
        switch LinuxPacket.openSocket() {
        case .success(let fd): descriptor = fd
        case .failure(let failure): throw .system("open AF_PACKET socket on \(interface)", errno: failure.code)
        }
        let handle = PacketSocketHandle(descriptor: descriptor, interface: interface)

        switch LinuxPacket.interfaceIndex(interface) {
        case .success(let index): interfaceIndex = index
        case .failure(let failure):
            throw .system("find interface \(interface)", errno: failure.code,
                          hint: "no such interface in this network namespace; check `ip link`")
        }

        func set<Value>(_ level: Int32, _ name: Int32, _ value: Value, _ what: String) throws(PacketIOError) {
            if let code = LinuxPacket.setOption(descriptor, level: level, name: name, value) {
                throw .system("set \(what) on \(interface)", errno: code)
            }
        }

        let hasRing = configuration.receiveRing != nil || configuration.transmitRing != nil
        if hasRing {
            switch configuration.version {
            case .v2: try set(SOL_PACKET, PACKET_VERSION, Int32(TPACKET_V2.rawValue), "TPACKET_V2")
            case .v3: try set(SOL_PACKET, PACKET_VERSION, Int32(TPACKET_V3.rawValue), "TPACKET_V3")
            }
        }
        if configuration.virtioNetHeader {
            try set(SOL_PACKET, PACKET_VNET_HDR, Int32(1), "PACKET_VNET_HDR")
        }
        if configuration.reserve > 0 {
            try set(SOL_PACKET, PACKET_RESERVE, UInt32(configuration.reserve), "PACKET_RESERVE \(configuration.reserve)")
        }
        if configuration.transmitRing != nil {
            // A malformed frame is skipped and its slot freed, instead of parking the whole
            // TX ring behind TP_STATUS_WRONG_FORMAT.
            try set(SOL_PACKET, PACKET_LOSS, Int32(1), "PACKET_LOSS")
        }
        if let rx = configuration.receiveRing {
            // TPACKET_V2 reads only the first four words and has no block timer.
            let timeout = configuration.version == .v3 ? rx.retireBlockTimeoutMilliseconds : 0
            try set(SOL_PACKET, PACKET_RX_RING, Self.request(rx, retireTimeout: timeout),
                    "the RX ring (\(rx.blockCount) blocks of \(rx.blockSize) bytes)")
        }
        if let tx = configuration.transmitRing {
            // The kernel requires a zero block timeout, private area and feature word on TX.
            try set(SOL_PACKET, PACKET_TX_RING, Self.request(tx, retireTimeout: 0),
                    "the TX ring (\(tx.blockCount) blocks of \(tx.blockSize) bytes)")
        }
        let receiveBytes = configuration.receiveRing?.byteCount ?? 0
        let transmitBytes = configuration.transmitRing?.byteCount ?? 0
        var base: UnsafeMutableRawPointer?
        if receiveBytes + transmitBytes > 0 {
            switch LinuxPacket.mapRings(descriptor, length: receiveBytes + transmitBytes) {
            case .success(let mapped):
                handle.adoptMapping(mapped, length: receiveBytes + transmitBytes)
                base = mapped
            case .failure(let failure):
                throw .system("map the \(receiveBytes + transmitBytes)-byte rings of \(interface)", errno: failure.code)
            }
        }
        if configuration.bypassQdisc {
            try set(SOL_PACKET, PACKET_QDISC_BYPASS, Int32(1), "PACKET_QDISC_BYPASS")
        }
        if configuration.ignoreOutgoing {
            try set(SOL_PACKET, PACKET_IGNORE_OUTGOING, Int32(1), "PACKET_IGNORE_OUTGOING")
        }
        if let bytes = configuration.receiveBufferBytes {
            try set(SOL_SOCKET, SO_RCVBUFFORCE, Int32(clamping: bytes), "SO_RCVBUFFORCE \(bytes)")
        }
        if let bytes = configuration.sendBufferBytes {
            try set(SOL_SOCKET, SO_SNDBUFFORCE, Int32(clamping: bytes), "SO_SNDBUFFORCE \(bytes)")
        }
        if let code = LinuxPacket.bind(descriptor, interfaceIndex: interfaceIndex,
                                       etherType: configuration.receives ? UInt16(ETH_P_ALL) : 0) {
            throw .system("bind AF_PACKET socket to \(interface)", errno: code)
        }
        if let fanout = configuration.fanout {
            // The members of a group share one packet hook, so PACKET_IGNORE_OUTGOING on the
            // socket no longer applies: the group itself must ignore outgoing frames.
            var flags: Int32 = configuration.ignoreOutgoing ? PACKET_FANOUT_FLAG_IGNORE_OUTGOING : 0
            if fanout.allocateGroup { flags |= PACKET_FANOUT_FLAG_UNIQUEID }
            let group = fanout.allocateGroup ? 0 : UInt32(fanout.group)
            let argument = group | UInt32(fanout.kernelMode | flags) << 16
            if let code = LinuxPacket.setOption(descriptor, level: SOL_PACKET, name: PACKET_FANOUT, argument) {
                throw .system(fanout.allocateGroup ? "create a fanout group on \(interface)" : "join fanout group \(fanout.group) on \(interface)",
                              errno: code,
                              hint: code == EINVAL
                                  ? "the group exists with another mode or socket settings; use another group id"
                                  : nil)
            }
        }

        self.interface = interface
        self.handle = handle
        hasVirtioNetHeader = configuration.virtioNetHeader
        if let rx = configuration.receiveRing, let base {
            receiveRing = RXRing(handle: handle, base: base, geometry: rx, version: configuration.version,
                                 virtioHeader: configuration.virtioNetHeader)
        } else {
            receiveRing = nil
        }
        if let tx = configuration.transmitRing, let base {
            transmitRing = TXRing(handle: handle, base: base + receiveBytes, geometry: tx, version: configuration.version,
                                  virtioHeader: configuration.virtioNetHeader)
        } else {
            transmitRing = nil
        }
    }

    /// Whether frames carry a virtio-net header (PACKET_VNET_HDR).
    public let hasVirtioNetHeader: Bool

    /// Sends one frame now, on a socket without a TX ring (with one, the kernel would send
    /// the ring's frames instead). `bytes` starts with the virtio-net header when the socket
    /// has PACKET_VNET_HDR, so a GSO super-frame goes out whole for the kernel to segment.
    /// Returns false when the socket buffer or device is busy (EAGAIN/ENOBUFS).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(PacketIOError) -> Bool {
        guard let start = bytes.baseAddress else { return true }
        switch LinuxPacket.sendFrame(handle.descriptor, start, length: bytes.count) {
        case .done: return true
        case .wouldBlock: return false
        case .failed(let code):
            if code == ENOBUFS { return false }
            throw .system("send a \(bytes.count)-byte frame on \(interface)", errno: code)
        }
    }

    private static func request(_ geometry: RingGeometry, retireTimeout: Int) -> tpacket_req3 {
        tpacket_req3(
            tp_block_size: UInt32(geometry.blockSize),
            tp_block_nr: UInt32(geometry.blockCount),
            tp_frame_size: UInt32(geometry.frameSize),
            tp_frame_nr: UInt32(geometry.frameCount),
            tp_retire_blk_tov: UInt32(retireTimeout),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0)
    }

    /// Waits up to `timeoutMilliseconds` (negative: forever) for any of `events`; returns
    /// those that are ready, empty on timeout. A pending socket error (the interface went
    /// down or away) is thrown. An interrupting signal restarts the wait with the full
    /// timeout (see `SystemCall`).
    public func wait(for events: Readiness, timeoutMilliseconds: Int) throws(PacketIOError) -> Readiness {
        let timeout = Int32(clamping: timeoutMilliseconds)
        switch LinuxPacket.poll(handle.descriptor, events: events.rawValue, timeoutMilliseconds: timeout) {
        case .done(let revents):
            let ready = Int16(truncatingIfNeeded: revents)
            if ready & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                var code: Int32 = 0
                _ = LinuxPacket.getOption(handle.descriptor, level: SOL_SOCKET, name: SO_ERROR, into: &code)
                if code != 0 { throw .system("wait for frames on \(interface)", errno: code) }
            }
            return Readiness(rawValue: ready).intersection(events)
        case .wouldBlock:
            return []
        case .failed(let code):
            throw .system("wait for frames on \(interface)", errno: code)
        }
    }

    /// The id of the fanout group this socket is in (the kernel's choice for a
    /// `Fanout.newGroup`), or nil when it is in none.
    public var fanoutGroup: UInt16? {
        var value: UInt32 = 0
        guard LinuxPacket.getOption(handle.descriptor, level: SOL_PACKET, name: PACKET_FANOUT, into: &value) == nil,
              value != 0 else { return nil }
        // The kernel packs id | mode << 16 | flags << 24 (af_packet.c packet_getsockopt).
        return UInt16(truncatingIfNeeded: value)
    }

    /// Attaches (or replaces) the classic BPF program of this socket's `.program` fanout
    /// group (PACKET_FANOUT_DATA): it applies to every member from the next frame on.
    public func attachFanoutProgram(_ program: FanoutProgram) throws(PacketIOError) {
        if let code = LinuxPacket.setFanoutProgram(handle.descriptor, program.instructions) {
            throw .system("attach the \(program.instructions.count)-instruction fanout program on \(interface)", errno: code,
                          hint: code == EINVAL ? "the socket is not in a PACKET_FANOUT_CBPF group, or the kernel refused the program" : nil)
        }
    }

    /// Reads (and so resets) the kernel's counters for this socket.
    public func statistics() throws(PacketIOError) -> Statistics {
        var stats = tpacket_stats_v3()
        if let code = LinuxPacket.getOption(handle.descriptor, level: SOL_PACKET, name: PACKET_STATISTICS, into: &stats) {
            throw .system("read PACKET_STATISTICS on \(interface)", errno: code)
        }
        return Statistics(packets: stats.tp_packets, drops: stats.tp_drops, freezeCount: stats.tp_freeze_q_cnt)
    }
}
