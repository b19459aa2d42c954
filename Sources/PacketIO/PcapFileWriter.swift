/// Writes an Ethernet (`DLT_EN10MB`) pcap file with libpcap's `pcap_open_dead`,
/// `pcap_dump_open` and `pcap_dump`, in the classic microsecond format every pcap reader
/// understands.
///
/// Frames longer than `snapLength` are stored cut to `snapLength` bytes with their full
/// original length recorded, as a capture would. Records are buffered: call `close()` (or
/// drop the writer) before another program reads the file.
///
/// Not thread-safe: one writer belongs to one task or thread at a time.
public final class PcapFileWriter {
    /// The file this writer creates.
    public let path: String
    /// The most bytes stored per record.
    public let snapLength: Int
    private var handle: OpaquePointer?
    private var dumper: OpaquePointer?

    /// Creates (or truncates) `path` and writes the pcap file header.
    public init(path: String, snapLength: Int = 262144) throws(PcapError) {
        guard snapLength > 0, snapLength <= Int(Int32.max) else {
            throw PcapError(message:
                "Cannot create pcap file '\(path)': snap length \(snapLength) must be between 1 and \(Int32.max).")
        }
        self.path = path
        self.snapLength = snapLength
        guard let handle = Libpcap.openDead(linkType: Libpcap.ethernetLinkType, snapLength: snapLength) else {
            throw PcapError(message: "Cannot create pcap file '\(path)': libpcap could not allocate a handle.")
        }
        switch Libpcap.dumpOpen(handle, path: path) {
        case let .success(dumper):
            self.handle = handle
            self.dumper = dumper
        case let .failure(error):
            Libpcap.close(handle)
            throw error
        }
    }

    deinit {
        close()
    }

    /// Appends one frame.
    ///
    /// - Precondition: the writer is open and `timestamp.microseconds` is in `0..<1_000_000`.
    public func write(_ bytes: UnsafeRawBufferPointer, timestamp: PcapTimestamp) {
        guard let dumper else { preconditionFailure("write to pcap file '\(path)' after close()") }
        Libpcap.dump(dumper, bytes, timestamp: timestamp, snapLength: snapLength)
    }

    /// Appends one frame.
    public func write(_ bytes: [UInt8], timestamp: PcapTimestamp) {
        bytes.withUnsafeBytes { write($0, timestamp: timestamp) }
    }

    /// Flushes buffered records and closes the file. Idempotent; also called by deinit.
    public func close() {
        if let dumper {
            self.dumper = nil
            Libpcap.dumpFlush(dumper)
            Libpcap.dumpClose(dumper)
        }
        if let handle {
            self.handle = nil
            Libpcap.close(handle)
        }
    }
}
