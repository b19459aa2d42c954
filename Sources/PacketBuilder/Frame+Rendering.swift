import Wire

/// EtherType written when nothing the builder knows follows the Ethernet header
/// (IEEE 802 "Local Experimental EtherType 1").
let experimentalEtherType = EtherType(rawValue: 0x88B5)

extension Frame {
    /// The rendered bytes: EtherType / IPv4 protocol / IPv6 next header chosen from the following
    /// layer (IPv4 after IPv4 gives protocol 4, IPIP), every length field and every checksum (IPv4
    /// header, TCP/UDP/ICMPv6 with pseudo-header, ICMPv4) filled in.
    ///
    /// Layers are rendered back to front, so each header is written when everything it covers
    /// (lengths, checksums) already exists; headers are written through `Wire`'s views and `emit`
    /// functions, so the builder and the parser share one definition of every offset.
    public var bytes: [UInt8] {
        var tail: [UInt8] = []
        for index in layers.indices.reversed() {
            tail = render(index, tail: tail)
        }
        return tail
    }

    private func render(_ index: Int, tail: [UInt8]) -> [UInt8] {
        switch layers[index] {
        case let .ethernet(destination, source, vlan):
            let type = etherType(after: index)
            var out = [UInt8](repeating: 0, count: EthernetFrame.headerLength + (vlan == nil ? 0 : EthernetFrame.tagLength))
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` has room for the header just allocated; the pointer stays in this closure.
                EthernetFrame.emit(into: raw.baseAddress!, destination: destination, source: source,
                                   etherType: vlan == nil ? type : EtherType.vlan)
            }
            if let vlan {
                // The tag sits between the source MAC and the inner EtherType (IEEE 802.1Q §9.3).
                put16(vlan, at: EthernetFrame.Offset.etherType + 2, in: &out)
                put16(type.rawValue, at: EthernetFrame.Offset.etherType + EthernetFrame.tagLength, in: &out)
            }
            return out + tail

        case let .ipv4(ip):
            var out = [UInt8](repeating: 0, count: IPv4Packet.minimumHeaderLength + ip.options.count) + tail
            let proto = ipProtocol(after: index)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the header and everything after it; the pointer stays in this closure.
                let base = raw.baseAddress!
                IPv4Packet.emit(into: base, typeOfService: ip.tos, totalLength: raw.count,
                                identification: ip.identification, flagsFragment: ip.flagsFragment,
                                timeToLive: ip.ttl, protocol: proto, source: ip.source, destination: ip.destination)
                guard !ip.options.isEmpty else { return }
                let headerLength = IPv4Packet.minimumHeaderLength + ip.options.count
                base.storeBytes(of: UInt8(0x40 | headerLength / 4), toByteOffset: IPv4Packet.Offset.versionIHL, as: UInt8.self)
                for (i, byte) in ip.options.enumerated() {
                    base.storeBytes(of: byte, toByteOffset: IPv4Packet.Offset.options + i, as: UInt8.self)
                }
                // emit summed a 20-byte header; with options the header is longer, so sum again.
                try! IPv4Packet(base, length: raw.count).fillChecksum()
            }
            return out

        case let .ipv6(ip):
            var out = [UInt8](repeating: 0, count: IPv6Packet.headerLength) + tail
            let next = ipProtocol(after: index)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the fixed header and the payload; the pointer stays in this closure.
                IPv6Packet.emit(into: raw.baseAddress!, trafficClass: ip.trafficClass, flowLabel: ip.flowLabel,
                                payloadLength: tail.count, nextHeader: next, hopLimit: ip.hopLimit,
                                source: ip.source, destination: ip.destination)
            }
            return out

        case let .ipv6Extension(value, optionBytes):
            let size = optionBytes + 2
            // RFC 8200 §4.3: length in 8-octet units not counting the first 8; AH (RFC 4302 §2.2)
            // counts 4-octet units minus 2.
            let lengthField = value == IPProtocol.authentication.rawValue ? size / 4 - 2 : size / 8 - 1
            var header: [UInt8] = [ipProtocol(after: index).rawValue, UInt8(lengthField)]
            if value == IPProtocol.hopByHop.rawValue || value == IPProtocol.destinationOptions.rawValue {
                header += padOptions(optionBytes)
            } else {
                header += [UInt8](repeating: 0, count: optionBytes)
            }
            return header + tail

        case let .ipv6Fragment(offset, more, identification):
            var header: [UInt8] = [ipProtocol(after: index).rawValue, 0, 0, 0, 0, 0, 0, 0]
            put16(UInt16(offset) | (more ? 1 : 0), at: 2, in: &header)
            put32(identification, at: 4, in: &header)
            return header + tail

        case .protocolNumber:
            return tail

        case let .tcp(tcp):
            let headerLength = TCPSegment.minimumHeaderLength + tcp.options.count
            var out = [UInt8](repeating: 0, count: headerLength) + tail
            let pseudo = pseudoHeaderSum(before: index, protocol: IPProtocol.tcp, length: out.count)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the whole segment; the pointer stays in this closure.
                let base = raw.baseAddress!
                TCPSegment.emit(into: base, sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort,
                                sequence: tcp.sequence, acknowledgment: tcp.acknowledgment,
                                headerLength: headerLength, flags: tcp.flags, window: tcp.window)
                for (i, byte) in tcp.options.enumerated() {
                    base.storeBytes(of: byte, toByteOffset: TCPSegment.minimumHeaderLength + i, as: UInt8.self)
                }
                try! TCPSegment(base, length: raw.count).fillChecksum(pseudoHeaderSum: pseudo)
            }
            return out

        case let .udp(sourcePort, destinationPort, checksum):
            var out = [UInt8](repeating: 0, count: UDPDatagram.headerLength) + tail
            let pseudo = pseudoHeaderSum(before: index, protocol: IPProtocol.udp, length: out.count)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the whole datagram; the pointer stays in this closure.
                let base = raw.baseAddress!
                UDPDatagram.emit(into: base, sourcePort: sourcePort, destinationPort: destinationPort, length: raw.count)
                if checksum { try! UDPDatagram(base, length: raw.count).fillChecksum(pseudoHeaderSum: pseudo) }
            }
            return out

        case let .icmpv4(type, code, rest):
            var out = [UInt8](repeating: 0, count: ICMPv4Message.headerLength) + tail
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the whole message; the pointer stays in this closure.
                let base = raw.baseAddress!
                ICMPv4Message.emit(into: base, type: ICMPv4Type(rawValue: type), code: ICMPv4Code(rawValue: code), rest: rest)
                try! ICMPv4Message(base, length: raw.count).fillChecksum()
            }
            return out

        case let .icmpv6(type, code, rest):
            var out = [UInt8](repeating: 0, count: ICMPv6Message.headerLength) + tail
            let pseudo = pseudoHeaderSum(before: index, protocol: IPProtocol.icmpv6, length: out.count)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` holds the whole message; the pointer stays in this closure.
                let base = raw.baseAddress!
                ICMPv6Message.emit(into: base, type: ICMPv6Type(rawValue: type), code: ICMPv6Code(rawValue: code), rest: rest)
                try! ICMPv6Message(base, length: raw.count).fillChecksum(pseudoHeaderSum: pseudo)
            }
            return out

        case let .arp(operation, senderMAC, senderIP, targetMAC, targetIP):
            var out = [UInt8](repeating: 0, count: ARPPacket.length)
            out.withUnsafeMutableBytes { raw in
                // Safety: `out` is exactly one ARP packet long; the pointer stays in this closure.
                ARPPacket.emit(into: raw.baseAddress!, operation: ARPPacket.Operation(rawValue: operation), senderMAC: senderMAC,
                               senderIP: senderIP, targetMAC: targetMAC, targetIP: targetIP)
            }
            return out + tail

        case let .payload(bytes), let .quote(bytes):
            return bytes + tail
        }
    }

    // MARK: Type fields from the next layer

    private func etherType(after index: Int) -> EtherType {
        guard index + 1 < layers.count else { return experimentalEtherType }
        switch layers[index + 1] {
        case .ipv4: return EtherType.ipv4
        case .ipv6: return EtherType.ipv6
        case .arp: return EtherType.arp
        case let .quote(bytes):
            switch bytes.first.map({ $0 >> 4 }) {
            case 4: return EtherType.ipv4
            case 6: return EtherType.ipv6
            default: return experimentalEtherType
            }
        default: return experimentalEtherType
        }
    }

    private func ipProtocol(after index: Int) -> IPProtocol {
        guard index + 1 < layers.count else { return IPProtocol.noNextHeader }
        switch layers[index + 1] {
        case .ipv4: return IPProtocol.ipip
        case .ipv6: return IPProtocol.ipv6
        case let .ipv6Extension(value, _): return IPProtocol(rawValue: value)
        case .ipv6Fragment: return IPProtocol.fragment
        case let .protocolNumber(value): return IPProtocol(rawValue: value)
        case .tcp: return IPProtocol.tcp
        case .udp: return IPProtocol.udp
        case .icmpv4: return IPProtocol.icmp
        case .icmpv6: return IPProtocol.icmpv6
        case let .quote(bytes):
            switch bytes.first.map({ $0 >> 4 }) {
            case 4: return IPProtocol.ipip
            case 6: return IPProtocol.ipv6
            default: return IPProtocol.noNextHeader
            }
        case .ethernet, .arp, .payload: return IPProtocol.noNextHeader
        }
    }

    /// The pseudo-header sum from the nearest IP header before `index` (0 when there is none,
    /// as for `Frame.raw.tcp(...)`, where no pseudo-header exists to cover).
    private func pseudoHeaderSum(before index: Int, protocol proto: IPProtocol, length: Int) -> UInt32 {
        for i in stride(from: index - 1, through: 0, by: -1) {
            switch layers[i] {
            case let .ipv4(ip):
                return Checksum.pseudoHeaderIPv4(source: ip.source, destination: ip.destination, protocol: proto, length: length)
            case let .ipv6(ip):
                return Checksum.pseudoHeaderIPv6(source: ip.source, destination: ip.destination, nextHeader: proto, length: length)
            default:
                continue
            }
        }
        return 0
    }
}

// MARK: - Byte helpers

/// PadN options (RFC 8200 §4.2) filling `count` bytes, with Pad1 for a lone byte.
func padOptions(_ count: Int) -> [UInt8] {
    var out: [UInt8] = []
    var remaining = count
    while remaining > 0 {
        if remaining == 1 {
            out.append(0)
            remaining = 0
        } else {
            // PadN's data length is one byte; leave at least 2 for a following PadN, never exactly 1.
            var chunk = min(remaining, 257)
            if remaining - chunk == 1 { chunk -= 1 }
            out += [1, UInt8(chunk - 2)] + [UInt8](repeating: 0, count: chunk - 2)
            remaining -= chunk
        }
    }
    return out
}

func put16(_ value: UInt16, at offset: Int, in bytes: inout [UInt8]) {
    bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
}

func put32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
    put16(UInt16(truncatingIfNeeded: value >> 16), at: offset, in: &bytes)
    put16(UInt16(truncatingIfNeeded: value), at: offset + 2, in: &bytes)
}
