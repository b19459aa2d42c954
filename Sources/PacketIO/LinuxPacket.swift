import CLinuxPacket
import POSIX
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
    /// TPACKET2_HDRLEN (52).
    static let frameHeaderLengthV2 = Int(lvs_tpacket2_hdrlen())
    /// Where a TPACKET_V2 TX ring frame's data starts in its slot (32).
    static let transmitDataOffsetV2 = Int(lvs_tpacket2_tx_data_offset())
    /// `struct tpacket3_hdr` / `struct tpacket2_hdr` alone: what `ReceivedFrame.headroom`
    /// counts from (48, 32).
    static let ringHeaderLength = MemoryLayout<tpacket3_hdr>.size
    static let ringHeaderLengthV2 = MemoryLayout<tpacket2_hdr>.size

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
    /// marked TP_STATUS_SEND_REQUEST, without waiting for them to leave. ENOBUFS (the device's
    /// transmit queue is full; with PACKET_QDISC_BYPASS no qdisc absorbs it) is congestion like
    /// EAGAIN: the frames still marked for sending go out on the next kick.
    static func kick(_ fd: Int32) -> SystemCall.Outcome {
        SystemCall.run(alsoWouldBlock: ENOBUFS) { send(fd, nil, 0, Int32(MSG_DONTWAIT)) }
    }

    // MARK: RX ring memory

    /// Reads a TPACKET_V2 RX slot: the frame if the kernel has handed it to user space, nil
    /// (without touching it) while the kernel still owns it.
    @inline(__always)
    static func readyFrameV2(_ slot: UnsafeMutableRawPointer, frameSize: Int, virtioHeader: Bool) -> ReceivedFrame? {
        // Safety: `slot` is the start of one frame slot inside the live ring mapping (callers
        // derive it from the base and a slot index below frameCount); the kernel keeps a
        // tpacket2_hdr there.
        let header = slot.assumingMemoryBound(to: tpacket2_hdr.self)
        let status = lvs_v2_status_acquire(header)
        guard status & UInt32(TP_STATUS_USER) != 0 else { return nil }
        let mac = Int(header.pointee.tp_mac)
        let captured = Int(header.pointee.tp_snaplen)
        // The kernel keeps mac + snaplen inside the slot (tpacket_rcv truncates to fit).
        assert(mac + captured <= frameSize, "frame data past the slot end")
        let bytes = slot + mac
        // Safety: with PACKET_VNET_HDR the kernel writes the header in the 10 bytes before the
        // MAC header (tpacket_rcv puts netoff past it), inside the slot.
        let virtio = virtioHeader ? VirtioNetHeader(loadingFrom: bytes - VirtioNetHeader.size) : nil
        // The ring header's status word must survive until release; everything after it is
        // ours until then.
        let headroom = mac - MemoryLayout<tpacket2_hdr>.size
        return ReceivedFrame(
            bytes: UnsafeMutableRawBufferPointer(start: bytes, count: captured),
            wireLength: Int(header.pointee.tp_len),
            checksumNotReady: status & UInt32(TP_STATUS_CSUMNOTREADY) != 0,
            headroom: headroom, tailroom: frameSize - mac - captured, virtioHeader: virtio)
    }

    /// Hands a TPACKET_V2 RX slot back to the kernel with a release-store of TP_STATUS_KERNEL.
    @inline(__always)
    static func releaseFrameV2(_ slot: UnsafeMutableRawPointer) {
        // Safety: as in readyFrameV2; the release orders our reads and in-place writes of the
        // frame before the kernel may refill it.
        lvs_v2_status_release(slot.assumingMemoryBound(to: tpacket2_hdr.self), UInt32(TP_STATUS_KERNEL))
    }

    /// If the kernel has handed the TPACKET_V3 block at `block` to user space, its frame count
    /// and the offset of its first frame; nil without touching it otherwise.
    @inline(__always)
    static func readyBlock(_ block: UnsafeMutableRawPointer) -> (count: Int, firstOffset: Int)? {
        // Safety: `block` is the start of one block inside the live ring mapping (callers
        // derive it from the base and a block index below blockCount); tpacket_block_desc
        // is the kernel's header at every block start.
        let descriptor = block.assumingMemoryBound(to: tpacket_block_desc.self)
        guard lvs_block_status_acquire(descriptor) & UInt32(TP_STATUS_USER) != 0 else { return nil }
        return (Int(lvs_block_packet_count(descriptor)), Int(lvs_block_first_packet_offset(descriptor)))
    }

    /// The frame at `offset` in a TPACKET_V3 block `readyBlock` returned, and how far the
    /// next one is.
    @inline(__always)
    static func frameV3(_ block: UnsafeMutableRawPointer, offset: Int, blockSize: Int,
                        virtioHeader: Bool) -> (ReceivedFrame, Int) {
        assert(offset + MemoryLayout<tpacket3_hdr>.size <= blockSize, "frame header past the block end")
        // Safety: the kernel wrote the block's frame headers chained by tp_next_offset inside
        // the block, and readyBlock's acquire makes them visible; each frame's data (tp_mac,
        // tp_snaplen) lies inside the block too (asserted in debug builds).
        let header = (block + offset).assumingMemoryBound(to: tpacket3_hdr.self)
        let mac = Int(header.pointee.tp_mac)
        let captured = Int(header.pointee.tp_snaplen)
        assert(offset + mac + captured <= blockSize, "frame data past the block end")
        let bytes = block + offset + mac
        // Safety: with PACKET_VNET_HDR the header sits in the 10 bytes before the MAC header.
        let virtio = virtioHeader ? VirtioNetHeader(loadingFrom: bytes - VirtioNetHeader.size) : nil
        let frame = ReceivedFrame(
            bytes: UnsafeMutableRawBufferPointer(start: bytes, count: captured),
            wireLength: Int(header.pointee.tp_len),
            checksumNotReady: header.pointee.tp_status & UInt32(TP_STATUS_CSUMNOTREADY) != 0,
            headroom: mac - MemoryLayout<tpacket3_hdr>.size, tailroom: 0, virtioHeader: virtio)
        return (frame, Int(header.pointee.tp_next_offset))
    }

    /// Hands a TPACKET_V3 RX block back to the kernel with a release-store of TP_STATUS_KERNEL.
    @inline(__always)
    static func releaseBlock(_ block: UnsafeMutableRawPointer) {
        // Safety: as in readyBlock; the release orders our reads (and in-place writes) of the
        // block before the kernel may refill it.
        lvs_block_release_to_kernel(block.assumingMemoryBound(to: tpacket_block_desc.self))
    }

    // MARK: TX ring memory

    /// Fills the TX frame slot at `slot` if the kernel has finished with it: `body` gets
    /// the slot's data area and returns how many bytes it wrote (0 abandons the slot), then
    /// the frame is marked TP_STATUS_SEND_REQUEST. Returns false when the slot is busy or
    /// abandoned.
    @inline(__always)
    static func fillFrame(
        _ slot: UnsafeMutableRawPointer, frameSize: Int, version: RingVersion,
        _ body: (UnsafeMutableRawBufferPointer) -> Int
    ) -> Bool {
        // Only TP_STATUS_AVAILABLE is ours: SEND_REQUEST and SENDING are queued or in flight.
        // (PACKET_LOSS is set, so the kernel never parks a frame in WRONG_FORMAT.)
        guard frameIsAvailable(slot, version: version) else { return false }
        let dataOffset = version == .v2 ? transmitDataOffsetV2 : transmitDataOffset
        let capacity = frameSize - dataOffset
        // Safety: the data area is the slot's bytes after the header area (32 bytes for V2,
        // 48 for V3), inside the slot; the acquire above means the kernel no longer reads it.
        let length = body(UnsafeMutableRawBufferPointer(start: slot + dataOffset, count: capacity))
        precondition(length >= 0 && length <= capacity,
                     "a TX frame of \(length) bytes does not fit a \(capacity)-byte slot")
        guard length > 0 else { return false }
        // Safety: `slot` is the start of one frame slot inside the live TX ring mapping
        // (callers derive it from the base and a slot index below frameCount); the kernel
        // keeps the version's frame header there. The release publishes the data and length
        // before the kernel sees the request.
        if version == .v2 {
            let header = slot.assumingMemoryBound(to: tpacket2_hdr.self)
            header.pointee.tp_len = UInt32(length)
            header.pointee.tp_snaplen = UInt32(length)
            lvs_v2_status_release(header, UInt32(TP_STATUS_SEND_REQUEST))
        } else {
            let header = slot.assumingMemoryBound(to: tpacket3_hdr.self)
            header.pointee.tp_len = UInt32(length)
            header.pointee.tp_snaplen = UInt32(length)
            header.pointee.tp_next_offset = 0
            lvs_frame_status_release(header, UInt32(TP_STATUS_SEND_REQUEST))
        }
        return true
    }

    /// Whether the TX slot at `slot` is free (TP_STATUS_AVAILABLE).
    @inline(__always)
    static func frameIsAvailable(_ slot: UnsafeMutableRawPointer, version: RingVersion) -> Bool {
        // Safety: as in fillFrame.
        if version == .v2 {
            return lvs_v2_status_acquire(slot.assumingMemoryBound(to: tpacket2_hdr.self)) == UInt32(TP_STATUS_AVAILABLE)
        }
        return lvs_frame_status_acquire(slot.assumingMemoryBound(to: tpacket3_hdr.self)) == UInt32(TP_STATUS_AVAILABLE)
    }

    /// `send(fd, frame, length, MSG_DONTWAIT)` on a socket without a TX ring: one frame (with
    /// its virtio-net header first when the socket has PACKET_VNET_HDR), copied by the kernel.
    /// A full transmit queue (ENOBUFS) is congestion, as for `kick`.
    static func sendFrame(_ fd: Int32, _ bytes: UnsafeRawPointer, length: Int) -> SystemCall.Outcome {
        SystemCall.run(alsoWouldBlock: ENOBUFS) { Glibc.send(fd, bytes, length, Int32(MSG_DONTWAIT)) }
    }
}
