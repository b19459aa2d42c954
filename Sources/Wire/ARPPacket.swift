/// An ARP packet for IPv4 over Ethernet (RFC 826). Other hardware/protocol pairs are `.unsupported`.
public struct ARPPacket {
    public enum Offset {
        public static let hardwareType = 0
        public static let protocolType = 2
        public static let hardwareLength = 4
        public static let protocolLength = 5
        public static let operation = 6
        public static let senderMAC = 8
        public static let senderIP = 14
        public static let targetMAC = 18
        public static let targetIP = 24
    }
    public static let length = 28
    /// The ARP opcode (RFC 826; IANA "ARP Operation Codes").
    public struct Operation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt16
        @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
        @inlinable public static func == (a: Operation, b: Operation) -> Bool { a.rawValue == b.rawValue }
        @inlinable public static var request: Operation { Operation(rawValue: 1) }
        @inlinable public static var reply: Operation { Operation(rawValue: 2) }
        public var description: String { String(rawValue) }
    }
    /// Hardware type 1, Ethernet (the only one this view reads).
    @inlinable static var hardwareEthernet: UInt16 { 1 }

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ARPPacket.length else { throw .truncated }
        guard base.wireU16(Offset.hardwareType) == ARPPacket.hardwareEthernet, base.wireU16(Offset.protocolType) == EtherType.ipv4.rawValue,
              base.wireU8(Offset.hardwareLength) == 6, base.wireU8(Offset.protocolLength) == 4
        else { throw .unsupported }
        self.base = base
    }

    @inlinable public var operation: Operation {
        get { Operation(rawValue: base.wireU16(Offset.operation)) }
        nonmutating set { base.wireSetU16(newValue.rawValue, Offset.operation) }
    }
    @inlinable public var senderMAC: MACAddress {
        get { base.wireMAC(Offset.senderMAC) }
        nonmutating set { base.wireSetMAC(newValue, Offset.senderMAC) }
    }
    /// Sender protocol address as a host-order IPv4 value.
    @inlinable public var senderIP: UInt32 {
        get { base.wireU32(Offset.senderIP) }
        nonmutating set { base.wireSetU32(newValue, Offset.senderIP) }
    }
    @inlinable public var targetMAC: MACAddress {
        get { base.wireMAC(Offset.targetMAC) }
        nonmutating set { base.wireSetMAC(newValue, Offset.targetMAC) }
    }
    @inlinable public var targetIP: UInt32 {
        get { base.wireU32(Offset.targetIP) }
        nonmutating set { base.wireSetU32(newValue, Offset.targetIP) }
    }

    /// Writes a complete ARP packet (28 bytes) at `base`.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, operation: Operation,
                            senderMAC: MACAddress, senderIP: UInt32, targetMAC: MACAddress, targetIP: UInt32) {
        base.wireSetU16(hardwareEthernet, Offset.hardwareType)
        base.wireSetU16(EtherType.ipv4.rawValue, Offset.protocolType)
        base.wireSetU8(6, Offset.hardwareLength)
        base.wireSetU8(4, Offset.protocolLength)
        base.wireSetU16(operation.rawValue, Offset.operation)
        base.wireSetMAC(senderMAC, Offset.senderMAC)
        base.wireSetU32(senderIP, Offset.senderIP)
        base.wireSetMAC(targetMAC, Offset.targetMAC)
        base.wireSetU32(targetIP, Offset.targetIP)
    }

    /// Turns this request into the reply that says `mac` owns the address asked for
    /// (RFC 826 "Packet Reception": swap sender and target, fill in the sender hardware
    /// address, set the opcode to reply), in place.
    @inlinable
    public func makeReply(from mac: MACAddress) {
        let asker = senderMAC, askerIP = senderIP, asked = targetIP
        ARPPacket.emit(into: base, operation: .reply, senderMAC: mac, senderIP: asked, targetMAC: asker, targetIP: askerIP)
    }
}
