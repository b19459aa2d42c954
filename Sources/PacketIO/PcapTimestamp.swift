/// The capture time of one pcap record, with the microsecond resolution of the classic
/// pcap format (`struct pcap_pkthdr.ts`).
///
/// `microseconds` is expected in `0..<1_000_000`; files written with nanosecond
/// resolution are scaled down to microseconds when read.
public struct PcapTimestamp: Sendable, Hashable {
    public var seconds: Int
    public var microseconds: Int

    public init(seconds: Int, microseconds: Int) {
        self.seconds = seconds
        self.microseconds = microseconds
    }
}
