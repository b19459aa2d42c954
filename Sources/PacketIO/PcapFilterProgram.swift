import CPcap

/// A tcpdump-syntax filter compiled for Ethernet with no device behind it (`pcap_open_dead`,
/// `pcap_compile`), run over frames in memory with `pcap_offline_filter`: how a test checks
/// which frames a live handle's filter lets through without capturing anything. Compiled
/// this way libpcap uses no Linux BPF extensions, so VLAN tags are matched in-band, as a
/// live handle does when the kernel left the tag in the frame.
public final class PcapFilterProgram {
    private var program = bpf_program()

    public init(_ expression: String, snapLength: Int = 65_535) throws(PcapError) {
        guard let handle = Libpcap.openDead(linkType: Libpcap.ethernetLinkType, snapLength: snapLength) else {
            throw PcapError(message: "libpcap could not open a dead Ethernet handle to compile '\(expression)'")
        }
        defer { Libpcap.close(handle) }
        // Safety: `handle` is open for the call; `program` is owned here and freed in deinit.
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            // Safety: pcap_geterr returns the handle's own message buffer, copied at once.
            throw PcapError(message: "cannot compile the BPF filter '\(expression)': \(String(cString: pcap_geterr(handle)))")
        }
    }

    deinit {
        // Safety: `program` was filled by pcap_compile in init and is freed once, here.
        pcap_freecode(&program)
    }

    /// Whether the filter passes `frame` (as if captured whole).
    public func matches(_ frame: [UInt8]) -> Bool {
        var header = pcap_pkthdr()
        header.caplen = UInt32(frame.count)
        header.len = UInt32(frame.count)
        // Safety: `frame`'s storage is valid for the call; libpcap only reads `caplen` bytes.
        return frame.withUnsafeBufferPointer { pcap_offline_filter(&program, &header, $0.baseAddress) != 0 }
    }
}
