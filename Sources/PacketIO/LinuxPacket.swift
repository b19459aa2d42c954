import CLinuxPacket
#if canImport(Glibc)
import Glibc
#endif

/// The one door to AF_PACKET system calls and ring memory in `PacketIO`.
///
/// `PacketSocket`, `RXRing` and `TXRing` hold a descriptor and the base of the ring mapping
/// (owned by `PacketSocketHandle`) and touch them only through these helpers. Every pointer
/// into a ring is derived here from that base and the validated geometry, and handed to a
/// non-escaping closure for the duration of one frame. Failures come back as errno values
/// for the callers to word as `PacketIOError`s.
enum LinuxPacket {
    /// TPACKET3_HDRLEN: the frame header the kernel reserves before each frame (68).
    static let frameHeaderLength = Int(lvs_tpacket3_hdrlen())
    /// Where a TX ring frame's data starts in its slot (48).
    static let transmitDataOffset = Int(lvs_tpacket3_tx_data_offset())

    /// An errno from a failed call, for `Result`.
    struct Failure: Error {
        var code: Int32
    }

    // MARK: Socket

    /// A non-blocking AF_PACKET raw socket with protocol 0: it receives nothing until
    /// `bind` names a protocol, so no frame is queued before the rings exist.
    static func openSocket() -> Result<Int32, Failure> {
        let type = Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_PACKET, type, 0)
        return fd >= 0 ? .success(fd) : .failure(Failure(code: errno))
    }

    static func closeSocket(_ fd: Int32) {
        // close(2) is not retried on EINTR on Linux: the descriptor is released either way.
        _ = close(fd)
    }

    /// if_nametoindex: the interface's index in the calling thread's network namespace, or
    /// the errno (ENODEV) when it has none by that name.
    static func interfaceIndex(_ name: String) -> Result<Int32, Failure> {
        let index = if_nametoindex(name)
        return index == 0 ? .failure(Failure(code: errno)) : .success(Int32(bitPattern: index))
    }

    /// setsockopt with a plain value; returns the errno on failure.
    static func setOption<Value>(_ fd: Int32, level: Int32, name: Int32, _ value: Value) -> Int32? {
        var value = value
        // Safety: `value` is a local of trivial C type; the kernel copies `MemoryLayout.size`
        // bytes from it during the call.
        let result = withUnsafeBytes(of: &value) { bytes in
            setsockopt(fd, level, name, bytes.baseAddress, socklen_t(bytes.count))
        }
        return result == 0 ? nil : errno
    }

    /// PACKET_FANOUT_DATA: attaches a classic BPF program to the socket's fanout group.
    static func setFanoutProgram(_ fd: Int32, _ instructions: [FanoutProgram.Instruction]) -> Int32? {
        var filters = instructions.map { sock_filter(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        // Safety: the sock_fprog points into `filters`, alive for the call; the kernel copies
        // the instructions before setsockopt returns.
        return filters.withUnsafeMutableBufferPointer { buffer in
            let program = sock_fprog(len: UInt16(buffer.count), filter: buffer.baseAddress)
            return setOption(fd, level: SOL_PACKET, name: PACKET_FANOUT_DATA, program)
        }
    }

    /// getsockopt into a plain value; returns the errno on failure.
    static func getOption<Value>(_ fd: Int32, level: Int32, name: Int32, into value: inout Value) -> Int32? {
        var length = socklen_t(MemoryLayout<Value>.size)
        // Safety: the kernel writes at most `length` bytes, the size of `value`.
        let result = withUnsafeMutableBytes(of: &value) { bytes in
            getsockopt(fd, level, name, bytes.baseAddress, &length)
        }
        return result == 0 ? nil : errno
    }

    /// Binds to one interface and an EtherType (host order), which starts reception.
    static func bind(_ fd: Int32, interfaceIndex: Int32, etherType: UInt16) -> Int32? {
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = etherType.bigEndian
        address.sll_ifindex = interfaceIndex
        // Safety: `address` is a local sockaddr_ll; bind reads `MemoryLayout<sockaddr_ll>.size`
        // bytes of it during the call.
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                Glibc.bind(fd, generic, socklen_t(MemoryLayout<sockaddr_ll>.size))
            }
        }
        return result == 0 ? nil : errno
    }

    // MARK: Ring mapping

    /// Maps the socket's rings (RX first, then TX, as the kernel lays them out) shared and
    /// writable, in one mapping as the kernel requires when both exist.
    static func mapRings(_ fd: Int32, length: Int) -> Result<UnsafeMutableRawPointer, Failure> {
        let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let base, base != UnsafeMutableRawPointer(bitPattern: -1) else { return .failure(Failure(code: errno)) }
        return .success(base)
    }

    static func unmapRings(_ base: UnsafeMutableRawPointer, length: Int) {
        _ = munmap(base, length)
    }

    // MARK: Waiting and kicking

    /// poll(2) on one descriptor; `.done(revents)` (0 on timeout).
    static func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) -> SystemCall.Outcome {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let outcome = SystemCall.run { Int(Glibc.poll(&entry, 1, timeoutMilliseconds)) }
        if case .done(let ready) = outcome { return .done(ready == 0 ? 0 : Int(entry.revents)) }
        return outcome
    }

    /// `send(fd, NULL, 0, MSG_DONTWAIT)`: asks the kernel to transmit every TX ring frame
    /// marked TP_STATUS_SEND_REQUEST, without waiting for them to leave.
    static func kick(_ fd: Int32) -> SystemCall.Outcome {
        SystemCall.run { send(fd, nil, 0, Int32(MSG_DONTWAIT)) }
    }

    // MARK: RX ring memory

    /// Hands each frame of the RX block at `block` to `body` and returns the block to the
    /// kernel, or returns nil without touching it when the kernel still owns it.
    @inline(__always)
    static func drainBlock(
        _ block: UnsafeMutableRawPointer, blockSize: Int, _ body: (ReceivedFrame) -> Void
    ) -> Int? {
        // Safety: `block` is the start of one block inside the live ring mapping (callers
        // derive it from the base and a block index below blockCount); tpacket_block_desc
        // is the kernel's header at every block start.
        let descriptor = block.assumingMemoryBound(to: tpacket_block_desc.self)
        guard lvs_block_status_acquire(descriptor) & UInt32(TP_STATUS_USER) != 0 else { return nil }
        let count = Int(lvs_block_packet_count(descriptor))
        var offset = Int(lvs_block_first_packet_offset(descriptor))
        for _ in 0..<count {
            assert(offset + MemoryLayout<tpacket3_hdr>.size <= blockSize, "frame header past the block end")
            // Safety: the kernel wrote `count` frame headers chained by tp_next_offset inside
            // this block, and the acquire above makes them visible; each frame's data
            // (tp_mac, tp_snaplen) lies inside the block too (asserted in debug builds).
            let header = (block + offset).assumingMemoryBound(to: tpacket3_hdr.self)
            let mac = Int(header.pointee.tp_mac)
            let captured = Int(header.pointee.tp_snaplen)
            assert(offset + mac + captured <= blockSize, "frame data past the block end")
            let frame = ReceivedFrame(
                bytes: UnsafeMutableRawBufferPointer(start: block + offset + mac, count: captured),
                wireLength: Int(header.pointee.tp_len),
                checksumNotReady: header.pointee.tp_status & UInt32(TP_STATUS_CSUMNOTREADY) != 0)
            body(frame)
            offset += Int(header.pointee.tp_next_offset)
        }
        // Safety: as above; the release orders our reads (and in-place writes) of the block
        // before the kernel may refill it.
        lvs_block_release_to_kernel(descriptor)
        return count
    }

    // MARK: TX ring memory

    /// Fills the TX frame slot at `slot` if the kernel has finished with it: `body` gets
    /// the slot's data area and returns how many bytes it wrote (0 abandons the slot), then
    /// the frame is marked TP_STATUS_SEND_REQUEST. Returns false when the slot is busy or
    /// abandoned.
    @inline(__always)
    static func fillFrame(
        _ slot: UnsafeMutableRawPointer, frameSize: Int,
        _ body: (UnsafeMutableRawBufferPointer) -> Int
    ) -> Bool {
        // Safety: `slot` is the start of one frame slot inside the live TX ring mapping
        // (callers derive it from the base and a slot index below frameCount); the kernel
        // keeps a tpacket3_hdr there.
        let header = slot.assumingMemoryBound(to: tpacket3_hdr.self)
        // Only TP_STATUS_AVAILABLE is ours: SEND_REQUEST and SENDING are queued or in flight.
        // (PACKET_LOSS is set, so the kernel never parks a frame in WRONG_FORMAT.)
        guard lvs_frame_status_acquire(header) == UInt32(TP_STATUS_AVAILABLE) else { return false }
        let capacity = frameSize - transmitDataOffset
        // Safety: the data area is the slot's bytes after the 48-byte header area, inside the
        // slot; the acquire above means the kernel no longer reads it.
        let length = body(UnsafeMutableRawBufferPointer(start: slot + transmitDataOffset, count: capacity))
        precondition(length >= 0 && length <= capacity,
                     "a TX frame of \(length) bytes does not fit a \(capacity)-byte slot")
        guard length > 0 else { return false }
        header.pointee.tp_len = UInt32(length)
        header.pointee.tp_snaplen = UInt32(length)
        header.pointee.tp_next_offset = 0
        // Safety: as above; the release publishes the data and length before the kernel
        // sees the request.
        lvs_frame_status_release(header, UInt32(TP_STATUS_SEND_REQUEST))
        return true
    }

    /// Whether the TX slot at `slot` is free (TP_STATUS_AVAILABLE).
    @inline(__always)
    static func frameIsAvailable(_ slot: UnsafeMutableRawPointer) -> Bool {
        // Safety: as in fillFrame.
        lvs_frame_status_acquire(slot.assumingMemoryBound(to: tpacket3_hdr.self)) == UInt32(TP_STATUS_AVAILABLE)
    }
}
