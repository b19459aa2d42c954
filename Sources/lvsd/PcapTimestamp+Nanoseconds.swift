import PacketIO

/// The director's clock is nanoseconds; pcap records carry seconds and microseconds.
extension PcapTimestamp {
    var nanoseconds: UInt64 {
        UInt64(max(seconds, 0)) &* 1_000_000_000 &+ UInt64(max(microseconds, 0)) &* 1_000
    }

    init(nanoseconds: UInt64) {
        self.init(seconds: Int(nanoseconds / 1_000_000_000), microseconds: Int(nanoseconds % 1_000_000_000 / 1_000))
    }
}
