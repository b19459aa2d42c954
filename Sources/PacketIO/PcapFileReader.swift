/// Reads an Ethernet pcap (or pcapng) file record by record through libpcap's
/// `pcap_open_offline`.
///
/// Only `DLT_EN10MB` captures are accepted: the director parses every frame from its
/// Ethernet header, so any other link type is refused when the file is opened, with an
/// error naming the file and its link type. Timestamps are delivered in microseconds.
///
/// Not thread-safe: one reader belongs to one task or thread at a time.
public final class PcapFileReader {
    /// The file this reader was opened on.
    public let path: String
    private var handle: OpaquePointer?

    /// Why the last `next(into:at:)` returned nil, if it was not the clean end of the file
    /// (a record cut short by a truncated file, an I/O error, ...).
    public private(set) var lastError: PcapError?

    public init(path: String) throws(PcapError) {
        self.path = path
        let handle = try Libpcap.openOffline(path: path).get()
        let linkType = Libpcap.linkType(handle)
        guard linkType == Libpcap.ethernetLinkType else {
            Libpcap.close(handle)
            throw PcapError(message:
                "Pcap file '\(path)' has link type \(Libpcap.linkTypeName(linkType)) (DLT \(linkType)); "
                + "only Ethernet (EN10MB, DLT 1) captures can be read. "
                + "Capture on an Ethernet interface rather than 'any' or a tunnel.")
        }
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Copies the next record's bytes into `buffer` starting at `offset` and returns its
    /// captured length, original length and timestamp; nil at end of file (or after an
    /// error, see `lastError`, or after `close()`). Records longer than the space left are
    /// truncated to fit and reported with `truncated: true`.
    ///
    /// - Precondition: `0 <= offset <= buffer.count`.
    public func next(
        into buffer: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> (length: Int, originalLength: Int, timestamp: PcapTimestamp, truncated: Bool)? {
        guard let handle else { return nil }
        switch Libpcap.next(handle, into: buffer, at: offset) {
        case let .frame(length, originalLength, timestamp, truncated):
            return (length, originalLength, timestamp, truncated)
        case .endOfFile:
            return nil
        case let .failure(reason):
            lastError = PcapError(message:
                "Reading pcap file '\(path)' failed: \(reason). The file may be truncated or corrupt.")
            return nil
        }
    }

    /// Releases the file; later calls to `next` return nil. Idempotent; also called by deinit.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        Libpcap.close(handle)
    }
}
