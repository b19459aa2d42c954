/// One connection entry of a version-1 sync message (`struct ip_vs_sync_v4` /
/// `ip_vs_sync_v6`, net/netfilter/ipvs/ip_vs_sync.c), followed by optional parameters:
///
/// ```
///  | type          | protocol      | ver(4) | size(12)                   |
///  | flags (IP_VS_CONN_F_*)                                              |
///  | state                         | cport                               |
///  | vport                         | dport                               |
///  | fwmark                                                              |
///  | timeout (seconds)                                                   |
///  | caddr, vaddr, daddr (4 or 16 bytes each, by type)                   |
///  | option type | option length | option data ...                       |
/// ```
///
/// `size` counts the fixed part and the options, not the padding to the next entry. Made
/// only by `SyncMessage`, which has validated every entry (`validate`).
public struct SyncConnection {
    public enum Offset {
        public static let type = 0
        public static let proto = 1
        public static let versionAndSize = 2
        public static let flags = 4
        public static let state = 8
        public static let clientPort = 10
        public static let virtualPort = 12
        public static let destinationPort = 14
        public static let firewallMark = 16
        public static let timeout = 20
        public static let clientAddress = 24
    }
    /// `sizeof(struct ip_vs_sync_v4)` and `sizeof(struct ip_vs_sync_v6)`.
    public static let ipv4Length = 36
    public static let ipv6Length = 72
    /// `STYPE_F_INET6`: the type bit of an IPv6 entry.
    public static let typeIPv6: UInt8 = 1
    /// `SVER_MASK`: `ver_size`'s low 12 bits are the size; the top 4 the entry's version (0).
    public static let sizeMask: UInt16 = 0x0FFF

    @usableFromInline let base: UnsafeMutableRawPointer

    @inlinable init(unchecked base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable public var isIPv6: Bool { base.wireU8(Offset.type) & SyncConnection.typeIPv6 != 0 }
    @inlinable public var proto: IPProtocol { IPProtocol(rawValue: base.wireU8(Offset.proto)) }
    /// The entry's length without padding.
    @inlinable public var size: Int { Int(base.wireU16(Offset.versionAndSize) & SyncConnection.sizeMask) }
    @inlinable public var flags: SyncConnectionFlags { SyncConnectionFlags(rawValue: base.wireU32(Offset.flags)) }
    /// The protocol's state number (`IP_VS_TCP_S_*`, `IP_VS_UDP_S_NORMAL`), or a template's.
    @inlinable public var state: UInt16 { base.wireU16(Offset.state) }
    @inlinable public var clientPort: UInt16 { base.wireU16(Offset.clientPort) }
    @inlinable public var virtualPort: UInt16 { base.wireU16(Offset.virtualPort) }
    @inlinable public var destinationPort: UInt16 { base.wireU16(Offset.destinationPort) }
    @inlinable public var firewallMark: UInt32 { base.wireU32(Offset.firewallMark) }
    /// The connection's timeout in seconds (`cp->timeout / HZ`): the backup arms it from now.
    @inlinable public var timeout: UInt32 { base.wireU32(Offset.timeout) }

    @inlinable var addressLength: Int { isIPv6 ? 16 : 4 }
    @inlinable func address(_ index: Int) -> IPAddress {
        let offset = Offset.clientAddress + index * addressLength
        return isIPv6 ? base.wireIPv6(offset) : IPAddress(ipv4: base.wireU32(offset))
    }
    @inlinable public var clientAddress: IPAddress { address(0) }
    @inlinable public var virtualAddress: IPAddress { address(1) }
    @inlinable public var destinationAddress: IPAddress { address(2) }
    @inlinable var fixedLength: Int { isIPv6 ? SyncConnection.ipv6Length : SyncConnection.ipv4Length }

    /// The optional parameters, read in one walk (the entry was validated).
    public var options: SyncOptions {
        var options = SyncOptions()
        var offset = fixedLength
        let end = size
        while offset + 2 <= end {
            let type = SyncOptionType(rawValue: base.wireU8(offset))
            let length = Int(base.wireU8(offset + 1))
            let data = offset + 2
            switch type.kind {
            case .sequence:
                options.sequence = SyncSequence(
                    input: SyncSequence.Adjustment(initial: base.wireU32(data), delta: base.wireU32(data + 4),
                                                   previousDelta: base.wireU32(data + 8)),
                    output: SyncSequence.Adjustment(initial: base.wireU32(data + 12), delta: base.wireU32(data + 16),
                                                    previousDelta: base.wireU32(data + 20)))
            case .persistenceEngineData, .persistenceEngineName:
                options.carriesPersistenceEngine = true
            case .lvsdLocalEndpoint:
                let port = base.wireU16(data)
                let address = isIPv6 ? base.wireIPv6(data + 2) : IPAddress(ipv4: base.wireU32(data + 2))
                options.localEndpoint = Endpoint(address, port)
            case .lvsdClientPeer:
                options.clientPeer = SyncClientPeer(mac: base.wireMAC(data), interface: base.wireU8(data + 6))
            case .lvsdSteeringKey:
                options.steeringKey = base.wireU32(data)
            case .lvsdStreamShift:
                options.streamShift = SyncStreamShift(
                    timestampOffset: base.wireU32(data), serverWindowShift: Int8(bitPattern: base.wireU8(data + 4)),
                    proxyProtocol: base.wireU8(data + 5), state: SyncStreamShift.State(rawValue: base.wireU8(data + 6)),
                    firstSequence: base.wireU32(data + 7), serverFirstSequence: base.wireU32(data + 11))
            case .unknown:
                if !type.isOptional { options.carriesUnknownMandatoryOption = true }
            }
            offset = data + length
        }
        return options
    }

    /// The whole entry as a value.
    public var record: SyncConnectionRecord {
        let options = self.options
        var r = SyncConnectionRecord(
            proto: proto, flags: flags, state: state, clientAddress: clientAddress, clientPort: clientPort,
            virtualAddress: virtualAddress, virtualPort: virtualPort, destinationAddress: destinationAddress,
            destinationPort: destinationPort, timeout: timeout, firewallMark: firewallMark)
        r.sequence = options.sequence
        r.localEndpoint = options.localEndpoint
        r.clientPeer = options.clientPeer
        r.steeringKey = options.steeringKey
        r.streamShift = options.streamShift
        r.carriesPersistenceEngine = options.carriesPersistenceEngine
        r.carriesUnknownMandatoryOption = options.carriesUnknownMandatoryOption
        return r
    }

    /// Checks the entry at `base` with `available` bytes left in the message, as
    /// `ip_vs_process_message` and `ip_vs_proc_sync_conn` do, and returns its size.
    static func validate(_ base: UnsafeMutableRawPointer, available: Int) throws(SyncError) -> Int {
        guard available >= ipv4Length else { throw .connectionTruncated }
        let versionAndSize = base.wireU16(Offset.versionAndSize)
        let size = Int(versionAndSize & sizeMask)
        guard size <= available else { throw .badConnectionSize }
        guard versionAndSize & ~sizeMask == 0 else { throw .badConnectionVersion }
        let type = base.wireU8(Offset.type)
        let ipv6 = type & typeIPv6 != 0
        guard ipv6 || type == 0 else { throw .badConnectionType }
        var offset = ipv6 ? ipv6Length : ipv4Length
        guard size >= offset else { throw .badConnectionSize }
        var seen: UInt8 = 0
        while offset < size {
            guard offset + 2 <= size else { throw .optionTruncated }
            let type = SyncOptionType(rawValue: base.wireU8(offset))
            let length = Int(base.wireU8(offset + 1))
            offset += 2
            guard length > 0, offset + length <= size else { throw .badOptionLength }
            let kind = type.kind
            if kind != .unknown {
                guard length == kind.length(ipv6: ipv6) || (kind.isString && length <= kind.maximumLength) else {
                    throw .badOptionLength
                }
                let bit: UInt8 = 1 << kind.rawValue
                guard seen & bit == 0 else { throw .duplicateOption }
                seen |= bit
            }
            offset += length
        }
        return size
    }
}

/// What the options of one entry said.
public struct SyncOptions: Hashable, Sendable {
    public var sequence: SyncSequence?
    /// lvsd's FullNAT extension: the connection's LIP:lport.
    public var localEndpoint: Endpoint?
    /// lvsd's extension: where the master sends the connection's replies on the client side.
    public var clientPeer: SyncClientPeer?
    /// lvsd's extension: the key of the master's worker-steering hash (FullNAT, several workers).
    public var steeringKey: UInt32?
    /// lvsd's extension: what of a connection's stream shift IPVS has no field for.
    public var streamShift: SyncStreamShift?
    /// `IPVS_OPT_PE_DATA` or `IPVS_OPT_PE_NAME`: state of a persistence engine (`-pe sip`).
    public var carriesPersistenceEngine = false
    /// An option type the receiver does not know without the optional bit: the kernel skips
    /// the whole connection (`Unknown mandatory param`), and so must any receiver.
    public var carriesUnknownMandatoryOption = false
    public init() {}
}

/// An option's type byte. The kernel masks off `IPVS_OPT_F_PARAM` (0x40) before matching,
/// and skips an unknown option only when that bit is set; without it the connection is
/// dropped. lvsd's own option therefore sets it, so a kernel backup skips it and still
/// installs the connection.
public struct SyncOptionType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `IPVS_OPT_F_PARAM`: the option may be skipped by a receiver that does not know it.
    @inlinable public static var optionalBit: UInt8 { 0x40 }
    @inlinable public static var sequence: SyncOptionType { SyncOptionType(rawValue: 1) }
    @inlinable public static var persistenceEngineData: SyncOptionType { SyncOptionType(rawValue: 2) }
    @inlinable public static var persistenceEngineName: SyncOptionType { SyncOptionType(rawValue: 3) }
    /// lvsd's extension: FullNAT's local port (2 bytes) then local address (4 or 16 bytes, the
    /// entry's family). Number 0x20 is unused by the kernel (it knows 1–3), and the optional
    /// bit makes it 0x60 on the wire.
    @inlinable public static var lvsdLocalEndpoint: SyncOptionType { SyncOptionType(rawValue: 0x20 | optionalBit) }
    /// lvsd's extension: the client-side peer's MAC (6 bytes) and the position of the
    /// interface it is on in the director's interface list (1 byte); 0x21, 0x61 on the wire.
    @inlinable public static var lvsdClientPeer: SyncOptionType { SyncOptionType(rawValue: 0x21 | optionalBit) }
    /// lvsd's extension: the key of the master's worker-steering hash (4 bytes), on FullNAT
    /// entries of a master with several workers; 0x22, 0x62 on the wire. A FullNAT
    /// connection's local port was chosen so that the worker its replies reach (by port) is
    /// the one its client's frames reach (by the keyed hash); a backup must hash with the same
    /// key for the connection to keep one worker after a failover.
    @inlinable public static var lvsdSteeringKey: SyncOptionType { SyncOptionType(rawValue: 0x22 | optionalBit) }
    /// lvsd's extension: the part of a connection's stream shift that `IPVS_OPT_SEQ_DATA` has
    /// no field for (`SyncStreamShift`, 15 bytes); 0x23, 0x63 on the wire.
    @inlinable public static var lvsdStreamShift: SyncOptionType { SyncOptionType(rawValue: 0x23 | optionalBit) }

    @inlinable public var isOptional: Bool { rawValue & Self.optionalBit != 0 }

    @usableFromInline enum Kind: UInt8 {
        case sequence = 1, persistenceEngineData, persistenceEngineName, lvsdLocalEndpoint, lvsdClientPeer, lvsdSteeringKey,
             lvsdStreamShift, unknown

        /// The fixed length of the option's data (0: a string, see `maximumLength`).
        func length(ipv6: Bool) -> Int {
            switch self {
            case .sequence: 24  // struct ip_vs_sync_conn_options: two ip_vs_seq of three u32
            case .lvsdLocalEndpoint: 2 + (ipv6 ? 16 : 4)
            case .lvsdClientPeer: 7
            case .lvsdSteeringKey: 4
            case .lvsdStreamShift: SyncStreamShift.length
            default: 0
            }
        }
        var isString: Bool { self == .persistenceEngineData || self == .persistenceEngineName }
        /// IP_VS_PEDATA_MAXLEN, IP_VS_PENAME_MAXLEN.
        var maximumLength: Int { self == .persistenceEngineName ? 16 : 255 }
    }

    @inlinable var kind: Kind {
        if rawValue == Self.lvsdLocalEndpoint.rawValue { return .lvsdLocalEndpoint }
        if rawValue == Self.lvsdClientPeer.rawValue { return .lvsdClientPeer }
        if rawValue == Self.lvsdSteeringKey.rawValue { return .lvsdSteeringKey }
        if rawValue == Self.lvsdStreamShift.rawValue { return .lvsdStreamShift }
        switch rawValue & ~Self.optionalBit {
        case 1: return .sequence
        case 2: return .persistenceEngineData
        case 3: return .persistenceEngineName
        default: return .unknown
        }
    }
}

/// `IPVS_OPT_SEQ_DATA`: how a connection's TCP streams are moved (`struct ip_vs_seq` for each
/// direction, `in_seq` then `out_seq`, network order; ip_vs_sync.c `hton_seq`): the client's
/// stream, then the real server's. The kernel sends it when `IP_VS_CONN_F_IN_SEQ` or
/// `_OUT_SEQ` is set and copies it over the connection's on every entry that has it
/// (`ip_vs_proc_conn`).
public struct SyncSequence: Hashable, Sendable {
    public struct Adjustment: Hashable, Sendable {
        public var initial: UInt32
        public var delta: UInt32
        public var previousDelta: UInt32
        public init(initial: UInt32, delta: UInt32, previousDelta: UInt32) {
            self.initial = initial
            self.delta = delta
            self.previousDelta = previousDelta
        }
    }
    public var input: Adjustment
    public var output: Adjustment
    public init(input: Adjustment, output: Adjustment) {
        self.input = input
        self.output = output
    }
}

/// lvsd's stream-shift option: what a connection's stream shift holds besides IPVS's two
/// `struct ip_vs_seq` (a SYN proxy's timestamp offset and window shift, the PROXY protocol and
/// TOA state), so a backup that takes over translates and inserts as the master did:
///
/// ```
///  | timestamp offset (4)  | window shift (1) | PROXY version (1) | state (1) |
///  | client ISN + 1 (4)    | server ISN + 1 (4)                               |
/// ```
public struct SyncStreamShift: Hashable, Sendable {
    /// The option's data length.
    public static let length = 15

    public struct State: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The service adds TOA.
        public static let toa = State(rawValue: 1)
        /// The client's SYN was seen: `firstSequence` holds.
        public static let synSeen = State(rawValue: 2)
        /// The PROXY protocol header went out.
        public static let headerSent = State(rawValue: 4)
        /// The real server's SYN-ACK was seen: `serverFirstSequence` holds.
        public static let synAckSeen = State(rawValue: 8)
    }

    /// Added to the real server's TSval, subtracted from the client's TSecr.
    public var timestampOffset: UInt32
    /// The real server's window scale minus the client's (two's complement).
    public var serverWindowShift: Int8
    /// The PROXY protocol version the connection gets (1, 2), 0: none.
    public var proxyProtocol: UInt8
    public var state: State
    public var firstSequence: UInt32
    public var serverFirstSequence: UInt32

    public init(timestampOffset: UInt32 = 0, serverWindowShift: Int8 = 0, proxyProtocol: UInt8 = 0, state: State = [],
                firstSequence: UInt32 = 0, serverFirstSequence: UInt32 = 0) {
        self.timestampOffset = timestampOffset
        self.serverWindowShift = serverWindowShift
        self.proxyProtocol = proxyProtocol
        self.state = state
        self.firstSequence = firstSequence
        self.serverFirstSequence = serverFirstSequence
    }
}

/// `IP_VS_CONN_F_*` as the sync protocol carries them (include/uapi/linux/ip_vs.h; only bits
/// 0–15 travel).
public struct SyncConnectionFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The forwarding method's code in bits 0–2 (`IP_VS_CONN_F_FWD_MASK`).
    @inlinable public var forwarding: UInt32 { rawValue & 0x7 }
    @inlinable public static var forwardMasquerade: UInt32 { 0 }
    @inlinable public static var forwardTunnel: UInt32 { 2 }
    @inlinable public static var forwardDirectRoute: UInt32 { 3 }
    /// DPVS's FullNAT code (`DPVS_FWD_MODE_FNAT`); the kernel has none.
    @inlinable public static var forwardFullNAT: UInt32 { 5 }
    @inlinable public static func forwarding(_ code: UInt32) -> SyncConnectionFlags { SyncConnectionFlags(rawValue: code & 0x7) }

    public static let sync = SyncConnectionFlags(rawValue: 0x0020)
    public static let hashed = SyncConnectionFlags(rawValue: 0x0040)
    public static let noOutput = SyncConnectionFlags(rawValue: 0x0080)
    public static let inactive = SyncConnectionFlags(rawValue: 0x0100)
    public static let outputSequence = SyncConnectionFlags(rawValue: 0x0200)
    public static let inputSequence = SyncConnectionFlags(rawValue: 0x0400)
    public static let noClientPort = SyncConnectionFlags(rawValue: 0x0800)
    public static let template = SyncConnectionFlags(rawValue: 0x1000)
    public static let onePacket = SyncConnectionFlags(rawValue: 0x2000)
    /// `IP_VS_CONN_F_BACKUP_MASK`: what a backup takes from a new entry.
    public static let backupMask = SyncConnectionFlags(rawValue: 0x0007 | 0x0080 | 0x0100 | 0x0600 | 0x0800 | 0x1000)
    /// `IP_VS_CONN_F_BACKUP_UPD_MASK`: what an update may change.
    public static let backupUpdateMask = SyncConnectionFlags(rawValue: 0x0100 | 0x0600)
}

/// A sync entry as a value: what `SyncMessageWriter` encodes and `SyncConnection.record` decodes.
/// IPv4 entries have IPv4 (mapped) addresses in all three places.
public struct SyncConnectionRecord: Hashable, Sendable {
    public var proto: IPProtocol
    public var flags: SyncConnectionFlags
    public var state: UInt16
    public var clientAddress: IPAddress
    public var clientPort: UInt16
    public var virtualAddress: IPAddress
    public var virtualPort: UInt16
    public var destinationAddress: IPAddress
    public var destinationPort: UInt16
    public var timeout: UInt32
    public var firewallMark: UInt32
    public var sequence: SyncSequence?
    /// FullNAT's LIP:lport, sent as lvsd's option.
    public var localEndpoint: Endpoint?
    /// The client-side peer (MAC and interface position), sent as lvsd's option.
    public var clientPeer: SyncClientPeer?
    /// The master's worker-steering key, sent as lvsd's option (see `SyncOptionType.lvsdSteeringKey`).
    public var steeringKey: UInt32?
    /// What of the stream shift IPVS has no field for, sent as lvsd's option.
    public var streamShift: SyncStreamShift?
    /// Decoded only: see `SyncOptions`.
    public var carriesPersistenceEngine = false
    public var carriesUnknownMandatoryOption = false

    public init(proto: IPProtocol, flags: SyncConnectionFlags, state: UInt16, clientAddress: IPAddress,
                clientPort: UInt16, virtualAddress: IPAddress, virtualPort: UInt16, destinationAddress: IPAddress,
                destinationPort: UInt16, timeout: UInt32, firewallMark: UInt32 = 0) {
        self.proto = proto
        self.flags = flags
        self.state = state
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.virtualAddress = virtualAddress
        self.virtualPort = virtualPort
        self.destinationAddress = destinationAddress
        self.destinationPort = destinationPort
        self.timeout = timeout
        self.firewallMark = firewallMark
    }

    public var isIPv6: Bool { !clientAddress.isIPv4 }

    /// Whether every address (and the local endpoint's) is of one family, as an entry's type
    /// requires; the writer takes only such records.
    public var isSingleFamily: Bool {
        let v4 = clientAddress.isIPv4
        return virtualAddress.isIPv4 == v4 && destinationAddress.isIPv4 == v4
            && (localEndpoint.map { $0.address.isIPv4 == v4 } ?? true)
    }

    /// The entry's size on the wire, without padding.
    public var encodedLength: Int {
        var n = isIPv6 ? SyncConnection.ipv6Length : SyncConnection.ipv4Length
        if sequence != nil { n += 2 + 24 }
        if localEndpoint != nil { n += 2 + 2 + (isIPv6 ? 16 : 4) }
        if clientPeer != nil { n += 2 + 7 }
        if steeringKey != nil { n += 2 + 4 }
        if streamShift != nil { n += 2 + SyncStreamShift.length }
        return n
    }
}

/// lvsd's client-peer option: the MAC a master sends a connection's replies to on the client
/// side (the client, or the router in front of it) and the position of that interface in the
/// director's interface list. A backup of the same segment (a VRRP pair) can then send the
/// real server's replies before the client has sent it anything, as a download's are after a
/// failover; IPVS needs no such thing, as its kernel resolves the route and neighbour itself.
public struct SyncClientPeer: Hashable, Sendable {
    public var mac: MACAddress
    public var interface: UInt8
    public init(mac: MACAddress, interface: UInt8) {
        self.mac = mac
        self.interface = interface
    }
}
