import CPcap

/// The one door to libpcap and raw memory in `PacketIO`'s file I/O.
///
/// `PcapFileReader` and `PcapFileWriter` hold opaque libpcap handles and call only these
/// helpers; every pointer libpcap hands out is used inside the helper that received it and
/// never stored. Handles are owned by exactly one reader or writer, which closes them once.
enum Libpcap {
    /// Ethernet, `DLT_EN10MB` / `LINKTYPE_ETHERNET`.
    static let ethernetLinkType: Int32 = 1

    /// The outcome of reading one record.
    enum Record {
        case frame(length: Int, originalLength: Int, timestamp: PcapTimestamp, truncated: Bool)
        case endOfFile
        case failure(String)
    }

    // MARK: Reading

    /// Opens a savefile for reading, asking for microsecond timestamps so nanosecond
    /// files are scaled rather than misread.
    static func openOffline(path: String) -> Result<OpaquePointer, PcapError> {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        // Safety: `errorBuffer` holds PCAP_ERRBUF_SIZE bytes, the size libpcap writes into,
        // and outlives the call; `path` is bridged to a C string for the call only.
        let handle = errorBuffer.withUnsafeMutableBufferPointer { errors in
            pcap_open_offline_with_tstamp_precision(
                path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), errors.baseAddress)
        }
        guard let handle else {
            return .failure(PcapError(message:
                "Cannot read pcap file '\(path)': \(cString(errorBuffer)). "
                + "Check that the path exists and is a libpcap capture file (.pcap or .pcapng)."))
        }
        return .success(handle)
    }

    /// The DLT of an open handle.
    static func linkType(_ handle: OpaquePointer) -> Int32 {
        // Safety: `handle` is an open pcap_t owned by the caller.
        pcap_datalink(handle)
    }

    /// libpcap's short name for a DLT (`EN10MB`, `RAW`, ...), or `unknown` for values it lacks.
    static func linkTypeName(_ linkType: Int32) -> String {
        // Safety: libpcap returns a pointer into a static table, or NULL; it is copied at once.
        guard let name = pcap_datalink_val_to_name(linkType) else { return "unknown" }
        return String(cString: name)
    }

    /// Reads the next record and copies as much of it as fits into `buffer[offset...]`.
    static func next(
        _ handle: OpaquePointer, into buffer: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Record {
        precondition(offset >= 0 && offset <= buffer.count,
                     "offset \(offset) is outside the \(buffer.count)-byte buffer")
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        // Safety: `handle` is an open pcap_t owned by the caller. libpcap sets `header` and
        // `data` to its own buffers, valid until the next call on this handle; both are
        // read and copied below, before this function returns.
        let status = pcap_next_ex(handle, &header, &data)
        switch status {
        case 1:
            break
        case PCAP_ERROR_BREAK:
            return .endOfFile
        default:
            return .failure(String(cString: pcap_geterr(handle)))
        }
        guard let header, let data else { return .failure("libpcap returned a record without data") }
        let capturedLength = Int(header.pointee.caplen)
        let originalLength = Int(header.pointee.len)
        let timestamp = PcapTimestamp(
            seconds: Int(header.pointee.ts.tv_sec), microseconds: Int(header.pointee.ts.tv_usec))
        let length = min(capturedLength, buffer.count - offset)
        if length > 0, let base = buffer.baseAddress {
            // Safety: `offset + length <= buffer.count` by the precondition and the `min`
            // above, and `data` holds `capturedLength >= length` bytes owned by libpcap.
            (base + offset).copyMemory(from: data, byteCount: length)
        }
        return .frame(length: length, originalLength: originalLength, timestamp: timestamp,
                      truncated: length < capturedLength)
    }

    /// Closes a handle from `openOffline` or `openDead`.
    static func close(_ handle: OpaquePointer) {
        // Safety: the owner closes each handle exactly once and drops it afterwards.
        pcap_close(handle)
    }

    // MARK: Writing

    /// A handle with no device behind it, used only to describe the file being written.
    static func openDead(linkType: Int32, snapLength: Int) -> OpaquePointer? {
        // Safety: pcap_open_dead takes plain integers and returns an owned handle or NULL.
        pcap_open_dead(linkType, Int32(clamping: snapLength))
    }

    /// Creates (or truncates) `path` and writes the pcap file header.
    static func dumpOpen(_ handle: OpaquePointer, path: String) -> Result<OpaquePointer, PcapError> {
        // Safety: `handle` is an open pcap_t; `path` is bridged to a C string for the call only.
        guard let dumper = pcap_dump_open(handle, path) else {
            return .failure(PcapError(message:
                "Cannot create pcap file '\(path)': \(String(cString: pcap_geterr(handle))). "
                + "Check that the directory exists and is writable."))
        }
        return .success(dumper)
    }

    /// Appends one record, storing at most `snapLength` bytes and the full original length.
    static func dump(
        _ dumper: OpaquePointer, _ bytes: UnsafeRawBufferPointer, timestamp: PcapTimestamp,
        snapLength: Int
    ) {
        precondition((0..<1_000_000).contains(timestamp.microseconds),
                     "pcap timestamp microseconds \(timestamp.microseconds) is outside 0..<1000000")
        let capturedLength = min(bytes.count, snapLength)
        var header = pcap_pkthdr()
        header.ts.tv_sec = .init(timestamp.seconds)
        header.ts.tv_usec = .init(timestamp.microseconds)
        header.caplen = UInt32(capturedLength)
        header.len = UInt32(clamping: bytes.count)
        // pcap_dump's first argument is the dumper disguised as the `u_char *user` of a
        // pcap_handler callback.
        let user = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
        if capturedLength > 0, let base = bytes.baseAddress {
            // Safety: `base` points at `bytes.count >= caplen` readable bytes for the call;
            // pcap_dump copies them to the file's stdio buffer and keeps no pointer.
            pcap_dump(user, &header, base.assumingMemoryBound(to: UInt8.self))
        } else {
            var empty: UInt8 = 0
            // Safety: caplen is 0, so pcap_dump reads nothing through the data pointer.
            pcap_dump(user, &header, &empty)
        }
    }

    /// Flushes buffered records to the file; false if the write failed (disk full, ...).
    @discardableResult
    static func dumpFlush(_ dumper: OpaquePointer) -> Bool {
        // Safety: `dumper` is an open pcap_dumper_t owned by the caller.
        pcap_dump_flush(dumper) == 0
    }

    /// Flushes and closes the file.
    static func dumpClose(_ dumper: OpaquePointer) {
        // Safety: the owner closes each dumper exactly once and drops it afterwards.
        pcap_dump_close(dumper)
    }

    private static func cString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: Live capture

/// A libpcap live handle on one interface, for the `pcap` engine: immediate mode, promiscuous,
/// incoming frames only (`PCAP_D_IN`, so frames it injects never come back), a BPF filter,
/// nonblocking reads and `pcap_inject` for sending. The worker polls `descriptor` (the
/// handle's selectable fd) and then drains with `next`, so it never blocks inside libpcap
/// (where `pcap_next_ex` in immediate mode would ignore EINTR).
///
/// libpcap hands frames without the kernel's `TP_STATUS_CSUMNOTREADY` flag: a frame whose L4
/// checksum the sender left partial (normal on veth) looks like any other. The caller must
/// treat every frame as possibly partial.
public final class PcapLiveCapture {
    private let handle: OpaquePointer
    public let interface: String
    /// The selectable fd to poll for readability.
    public let descriptor: Int32

    /// Opens and activates a live handle on `interface` and installs `filter` (tcpdump syntax).
    public init(interface: String, snapLength: Int, bufferBytes: Int, filter: String) throws(PcapError) {
        self.interface = interface
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        // Safety: `errorBuffer` holds PCAP_ERRBUF_SIZE bytes and outlives the call.
        let created = errorBuffer.withUnsafeMutableBufferPointer { pcap_create(interface, $0.baseAddress) }
        guard let handle = created else {
            throw PcapError(message: "libpcap cannot open interface \(interface): \(Libpcap.cStringOf(errorBuffer))")
        }
        func fail(_ what: String) -> PcapError {
            // Safety: pcap_geterr returns the handle's own message buffer, copied at once.
            let message = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            return PcapError(message: "libpcap on interface \(interface): \(what): \(message)")
        }
        // Safety: `handle` is a created, not yet activated pcap_t owned here; the setters take integers.
        _ = pcap_set_snaplen(handle, Int32(clamping: snapLength))
        _ = pcap_set_promisc(handle, 1)
        _ = pcap_set_immediate_mode(handle, 1)
        _ = pcap_set_buffer_size(handle, Int32(clamping: bufferBytes))
        let activated = pcap_activate(handle)
        if activated < 0 {
            throw fail("pcap_activate failed (\(activated)); lvsd needs root (CAP_NET_RAW) and an existing interface")
        }
        guard pcap_datalink(handle) == Libpcap.ethernetLinkType else {
            pcap_close(handle)
            throw PcapError(message: "libpcap on interface \(interface): not an Ethernet interface")
        }
        guard pcap_setdirection(handle, PCAP_D_IN) == 0 else { throw fail("pcap_setdirection(PCAP_D_IN)") }
        var program = bpf_program()
        // Safety: `program` is filled by pcap_compile and freed below after pcap_setfilter copied it.
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw fail("cannot compile the BPF filter '\(filter)'")
        }
        let installed = pcap_setfilter(handle, &program)
        pcap_freecode(&program)
        guard installed == 0 else { throw fail("pcap_setfilter") }
        // Safety: `errorBuffer` holds PCAP_ERRBUF_SIZE bytes and outlives the call.
        let nonblocking = errorBuffer.withUnsafeMutableBufferPointer { pcap_setnonblock(handle, 1, $0.baseAddress) }
        guard nonblocking == 0 else { throw fail("pcap_setnonblock") }
        let fd = pcap_get_selectable_fd(handle)
        guard fd >= 0 else { throw fail("no selectable file descriptor") }
        self.handle = handle
        self.descriptor = fd
    }

    deinit {
        // Safety: the handle is owned by this object alone and closed once, here.
        pcap_close(handle)
    }

    /// Reads one frame without blocking and hands its captured bytes and wire length to
    /// `body`; the bytes are libpcap's and valid only inside `body`. Returns 1 for a frame,
    /// 0 when none is waiting, -1 on an error.
    @inline(__always)
    public func next(_ body: (UnsafeRawBufferPointer, Int) -> Void) -> Int {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        // Safety: libpcap sets `header` and `data` to its own buffers, valid until the next
        // call on this handle; `body` reads them before this function returns.
        let status = pcap_next_ex(handle, &header, &data)
        guard status == 1, let header, let data else { return status == 0 ? 0 : -1 }
        body(UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)), Int(header.pointee.len))
        return 1
    }

    /// Sends one frame as it is; false when the kernel refused it.
    @inline(__always)
    public func inject(_ bytes: UnsafeRawPointer, length: Int) -> Bool {
        // Safety: `bytes` holds `length` readable bytes for the call; libpcap copies them.
        pcap_inject(handle, bytes, length) == length
    }

    /// Replaces the BPF filter (a reload changed the VIPs, LIPs or real servers). Call from
    /// the thread that reads the handle: libpcap keeps a copy of the program in the handle.
    public func setFilter(_ filter: String) throws(PcapError) {
        var program = bpf_program()
        // Safety: `program` is filled by pcap_compile and freed after pcap_setfilter copied it.
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError(message: "libpcap on interface \(interface): cannot compile the BPF filter '\(filter)': \(String(cString: pcap_geterr(handle)))")
        }
        let installed = pcap_setfilter(handle, &program)
        pcap_freecode(&program)
        guard installed == 0 else {
            throw PcapError(message: "libpcap on interface \(interface): pcap_setfilter: \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// Frames the kernel dropped for lack of buffer space (`pcap_stats`' `ps_drop`).
    public func drops() -> UInt64? {
        var stats = pcap_stat()
        // Safety: `stats` is a plain struct libpcap fills.
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return UInt64(stats.ps_drop)
    }
}

extension Libpcap {
    static func cStringOf(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
