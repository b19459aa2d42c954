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
    public enum Operation {
        public static let request: UInt16 = 1
        public static let reply: UInt16 = 2
    }

    public let base: UnsafeMutableRawPointer

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ARPPacket.length else { throw .truncated }
        guard base.wireU16(Offset.hardwareType) == 1, base.wireU16(Offset.protocolType) == EtherType.ipv4,
              base.wireU8(Offset.hardwareLength) == 6, base.wireU8(Offset.protocolLength) == 4
        else { throw .unsupported }
        self.base = base
    }

    @inlinable public var operation: UInt16 {
        get { base.wireU16(Offset.operation) }
        nonmutating set { base.wireSetU16(newValue, Offset.operation) }
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
    public static func emit(into base: UnsafeMutableRawPointer, operation: UInt16,
                            senderMAC: MACAddress, senderIP: UInt32, targetMAC: MACAddress, targetIP: UInt32) {
        base.wireSetU16(1, Offset.hardwareType)
        base.wireSetU16(EtherType.ipv4, Offset.protocolType)
        base.wireSetU8(6, Offset.hardwareLength)
        base.wireSetU8(4, Offset.protocolLength)
        base.wireSetU16(operation, Offset.operation)
        base.wireSetMAC(senderMAC, Offset.senderMAC)
        base.wireSetU32(senderIP, Offset.senderIP)
        base.wireSetMAC(targetMAC, Offset.targetMAC)
        base.wireSetU32(targetIP, Offset.targetIP)
    }
}
