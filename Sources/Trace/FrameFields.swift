import Wire

/// Turns a frame into named fields and a one-line summary: the teaching view of
/// `lvsd replay --trace`, which shows which header fields a forwarding method rewrites.
///
/// Pure: bytes in, fields out; the caller's bytes are never touched (decoding works on a
/// private copy, because `Wire`'s views take mutable pointers). Never traps: a header that
/// does not parse becomes an `error` field naming what is wrong, and decoding stops there.
/// Checksums are verified as they are shown (`0x1c46 (ok)` or `0x1c46 (BAD, want 0x1c47)`),
/// so a rewrite that forgot one shows up in the trace, not only in Wireshark.
///
/// Covers Ethernet (with up to two VLAN tags), ARP, IPv4 (options counted, fragments
/// recognised), IPv6 (extension headers walked by `Wire`), IPIP (outer and inner header),
/// TCP, UDP, ICMPv4 and ICMPv6, including the datagram an ICMP error quotes.
public enum FrameFields {
    /// The fields of every header in `bytes`, outermost first.
    public static func decode(_ bytes: [UInt8]) -> [Field] { describe(bytes).fields }

    /// A tcpdump-like one-line summary of `bytes`.
    public static func summary(_ bytes: [UInt8]) -> String { describe(bytes).summary }

    /// Fields and summary from one pass over `bytes`.
    public static func describe(_ bytes: [UInt8]) -> DecodedFrame {
        var copy = bytes
        return copy.withUnsafeMutableBytes { raw in
            // Safety: the pointer is used only inside this closure, and every view made from it
            // is bounded by `raw.count` through its validating initializer.
            guard let base = raw.baseAddress, raw.count > 0 else {
                return DecodedFrame(fields: [Field("eth", "error", "empty frame")], summary: "empty frame")
            }
            var decoder = FrameDecoder()
            decoder.ethernet(base, length: raw.count)
            return decoder.result
        }
    }
}

/// Accumulates fields and summary parts while walking the headers of one frame.
struct FrameDecoder {
    var fields: [Field] = []
    var summary: [String] = []
    /// IPIP nesting depth, bounded so a crafted frame cannot recurse without end.
    var tunnelDepth = 0

    var result: DecodedFrame { DecodedFrame(fields: fields, summary: summary.joined(separator: " ")) }

    mutating func add(_ layer: String, _ name: String, _ value: String) {
        fields.append(Field(layer, name, value))
    }

    /// Records a header that did not parse; decoding stops after it.
    mutating func malformed(_ layer: String, _ what: String, _ error: WireError, length: Int) {
        add(layer, "error", "\(Describe.wireError(error)) (\(length) bytes)")
        summary.append("malformed \(what): \(Describe.wireError(error)) (\(length) bytes)")
    }

    // MARK: Ethernet

    mutating func ethernet(_ base: UnsafeMutableRawPointer, length: Int) {
        let eth: EthernetFrame
        do { eth = try EthernetFrame(base, length: length) } catch {
            malformed("eth", "Ethernet frame", error, length: length)
            return
        }
        add("eth", "dst", eth.destination.description)
        add("eth", "src", eth.source.description)
        let tags = (eth.headerLength - EthernetFrame.headerLength) / EthernetFrame.tagLength
        if tags > 0 {
            // Each tag is TPID then TCI; the VLAN ID is the TCI's low 12 bits (IEEE 802.1Q §9.6).
            let ids = (0..<tags).map { i in
                RawRead.u16(base, EthernetFrame.Offset.etherType + i * EthernetFrame.tagLength + 2) & 0x0FFF
            }
            let text = ids.map(String.init).joined(separator: ", ")
            add("eth", "vlan", text)
            summary.append("vlan \(text)")
        }
        add("eth", "type", Describe.etherType(eth.etherType))
        switch eth.etherType {
        case .ipv4: ipv4(eth.payload, length: eth.payloadLength)
        case .ipv6: ipv6(eth.payload, length: eth.payloadLength)
        case .arp: arp(eth.payload, length: eth.payloadLength)
        default:
            summary.append("\(eth.source) → \(eth.destination) \(Describe.etherType(eth.etherType)), \(length) bytes")
        }
    }

    // MARK: ARP

    mutating func arp(_ base: UnsafeMutableRawPointer, length: Int) {
        let arp: ARPPacket
        do { arp = try ARPPacket(base, length: length) } catch {
            malformed("arp", "ARP", error, length: length)
            return
        }
        let sender = IPAddress(ipv4: arp.senderIP), target = IPAddress(ipv4: arp.targetIP)
        add("arp", "operation", Describe.arpOperation(arp.operation))
        add("arp", "sender mac", arp.senderMAC.description)
        add("arp", "sender ip", sender.description)
        add("arp", "target mac", arp.targetMAC.description)
        add("arp", "target ip", target.description)
        switch arp.operation {
        case ARPPacket.Operation.request: summary.append("ARP request who-has \(target) tell \(sender)")
        case ARPPacket.Operation.reply: summary.append("ARP reply \(sender) is-at \(arp.senderMAC)")
        default: summary.append("ARP operation \(arp.operation)")
        }
    }
}

/// Big-endian reads for the few bytes no `Wire` view exposes (VLAN tags beyond the first,
/// a quoted header's declared length). The one raw-memory door of this module.
enum RawRead {
    static func u16(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
        // Safety: callers pass offsets a validating initializer already proved in bounds.
        UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}
