import Wire

extension Director {
    /// The most frames one prefetch round covers; longer batches run in rounds.
    static let prefetchRound = 32

    /// Processes `count` frames as `process` would, one after another and with the same
    /// verdicts, but first walks the batch twice to prefetch each frame's connection-table
    /// buckets and then their first entries, so the cache misses of one frame overlap the
    /// work on the others (the DPVS/VPP pattern; with a million connections every lookup is
    /// otherwise two or three dependent trips to memory).
    public func process(batch packets: UnsafeMutablePointer<PacketBuffer>, count: Int,
                        verdicts: UnsafeMutablePointer<Verdict>, now: UInt64) {
        var start = 0
        while start < count {
            let n = min(Self.prefetchRound, count - start)
            for i in 0..<n { batchBuckets[i] = prefetchBucket(packets[start + i]) }
            for i in 0..<n where batchBuckets[i] >= 0 { table.prefetchChainHeads(batchBuckets[i]) }
            for i in 0..<n { verdicts[start + i] = process(&packets[start + i], now: now) }
            start += n
        }
    }

    /// Finds the bucket a TCP or UDP frame will be looked up in and prefetches it; -1 for
    /// anything else (the frame is then simply processed without the head start).
    @inline(__always)
    func prefetchBucket(_ packet: PacketBuffer) -> Int {
        guard let eth = try? EthernetFrame(packet.frame, length: packet.length) else { return -1 }
        let proto: TransportProtocol
        let source: IPAddress, destination: IPAddress
        let l4: UnsafeMutableRawPointer, l4Length: Int
        switch eth.etherType {
        case EtherType.ipv4:
            guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength), ip.carriesTransportHeader,
                  let p = TransportProtocol(ip.protocol) else { return -1 }
            proto = p
            source = ip.sourceAddress
            destination = ip.destinationAddress
            l4 = ip.payload
            l4Length = ip.payloadLength
        case EtherType.ipv6:
            guard let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength), ip.carriesTransportHeader,
                  let p = TransportProtocol(ip.upperProtocol) else { return -1 }
            proto = p
            source = ip.source
            destination = ip.destination
            l4 = ip.upper
            l4Length = ip.upperLength
        default:
            return -1
        }
        // TCP and UDP both start with the two ports.
        guard l4Length >= UDPDatagram.headerLength else { return -1 }
        let ports = TransportHeader(unchecked: l4, length: l4Length, protocol: proto.ipProtocol)
        let sourcePort = ports.sourcePort
        let destinationPort = ports.destinationPort
        let bucket = table.bucket(proto, source: source, sourcePort: sourcePort,
                                  destination: destination, destinationPort: destinationPort)
        table.prefetchBuckets(bucket)
        return bucket
    }
}
