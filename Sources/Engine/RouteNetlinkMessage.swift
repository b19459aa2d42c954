import Wire

/// rtnetlink messages about links and addresses, read from bytes the kernel wrote (a dump's
/// reply or a multicast notification): `nlmsghdr`, then `ifinfomsg` (links) or `ifaddrmsg`
/// (addresses), then route attributes (`rtattr`), each padded to 4 bytes. Layouts from
/// <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h> (rtnetlink(7));
/// netlink is in the host's byte order.
///
/// Every length is checked against what the buffer holds before a field is read: a message or
/// attribute that runs past its container is a named `RouteNetlinkError`, never a trap. Types
/// this reader does not know (routes, neighbours, NOOP) come back as `.other`.
enum RouteNetlinkMessage: Equatable, Sendable {
    /// RTM_NEWLINK (`deleted` false) or RTM_DELLINK.
    case link(LinkMessage, deleted: Bool)
    /// RTM_NEWADDR or RTM_DELADDR.
    case address(AddressMessage, deleted: Bool)
    /// NLMSG_DONE: the end of a dump.
    case done
    /// NLMSG_ERROR: 0 is an acknowledgement, otherwise the kernel's errno (positive).
    case error(Int32)
    case other(type: UInt16)

    /// The kernel's `ifinfomsg` and the attributes lvsd uses (IFLA_IFNAME, IFLA_ADDRESS,
    /// IFLA_MTU, IFLA_OPERSTATE).
    struct LinkMessage: Equatable, Sendable {
        var index: Int32
        /// IFF_* flags: IFF_UP (0x1) is the administrative state, IFF_LOWER_UP (0x10000) the carrier.
        var flags: UInt32
        var name: String?
        /// nil when the link has no 6-byte hardware address (loopback has one of zeros,
        /// tunnels none).
        var mac: MACAddress?
        var mtu: Int?
        /// RFC 2863 operational state (IF_OPER_*): 6 is up, 2 down, 0 unknown.
        var operationalState: UInt8?

        var isUp: Bool { flags & Self.up != 0 }
        var hasCarrier: Bool { flags & Self.lowerUp != 0 }
        static let up: UInt32 = 0x1
        static let lowerUp: UInt32 = 0x1_0000
    }

    /// The kernel's `ifaddrmsg` and the address it carries: IFA_LOCAL for IPv4 (IFA_ADDRESS is
    /// the peer's on a point-to-point link), IFA_ADDRESS for IPv6.
    struct AddressMessage: Equatable, Sendable {
        var index: Int32
        var address: IPAddress
        var prefixLength: Int
        /// RT_SCOPE_*: 0 universe, 253 link, 254 host.
        var scope: UInt8
        var label: String?
    }
}

/// Why bytes from a netlink socket are not a well-formed rtnetlink message.
enum RouteNetlinkError: Error, Equatable, CustomStringConvertible {
    /// Fewer bytes left than a 16-byte `nlmsghdr`.
    case truncatedHeader(offset: Int, available: Int)
    /// `nlmsg_len` below the header's size or past the end of the buffer.
    case badMessageLength(offset: Int, length: Int, available: Int)
    /// The message is shorter than its fixed part (`ifinfomsg`, `ifaddrmsg`, `nlmsgerr`).
    case truncatedBody(type: UInt16, length: Int, needed: Int)
    /// An attribute header or its `rta_len` runs past the message.
    case badAttributeLength(type: UInt16, offset: Int, length: Int)
    /// An address attribute of the wrong size for its family, or a prefix too long for it.
    case badAddress(family: UInt8, bytes: Int, prefixLength: Int)

    var description: String {
        switch self {
        case let .truncatedHeader(offset, available):
            "rtnetlink: \(available) bytes at offset \(offset), too few for a 16-byte message header"
        case let .badMessageLength(offset, length, available):
            "rtnetlink: the message at offset \(offset) says it is \(length) bytes, but \(available) remain (and a header is 16)"
        case let .truncatedBody(type, length, needed):
            "rtnetlink: message type \(type) is \(length) bytes, too short for its \(needed)-byte fixed part"
        case let .badAttributeLength(type, offset, length):
            "rtnetlink: attribute at offset \(offset) of a type \(type) message has length \(length), past the message's end"
        case let .badAddress(family, bytes, prefixLength):
            "rtnetlink: an address of family \(family) with \(bytes) bytes and prefix /\(prefixLength)"
        }
    }
}

extension RouteNetlinkMessage {
    // <linux/netlink.h>, <linux/rtnetlink.h>
    /// `nlmsghdr`: length (u32), type (u16), flags (u16), sequence (u32), port id (u32).
    static let headerSize = 16
    static let lengthOffset = 0, typeOffset = 4, flagsOffset = 6, sequenceOffset = 8
    /// NLM_F_REQUEST | NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH).
    static let dumpRequestFlags: UInt16 = 0x1 | 0x300
    static let doneType: UInt16 = 3
    static let errorType: UInt16 = 2
    static let newLink: UInt16 = 16, deleteLink: UInt16 = 17, getLink: UInt16 = 18
    static let newAddress: UInt16 = 20, deleteAddress: UInt16 = 21, getAddress: UInt16 = 22
    /// `ifinfomsg`: family, pad, type (u16), index (i32), flags (u32), change (u32).
    static let linkHeaderSize = 16
    static let linkIndexOffset = 4, linkFlagsOffset = 8
    /// `ifaddrmsg`: family, prefixlen, flags, scope (u8 each), index (u32).
    static let addressHeaderSize = 8
    static let addressFamilyOffset = 0, addressPrefixOffset = 1, addressScopeOffset = 3, addressIndexOffset = 4
    /// `rtattr`: length (u16, header included), type (u16), then the value.
    static let attributeHeaderSize = 4, attributeTypeOffset = 2
    /// `nlmsgerr`: error (i32), then the request's header.
    static let errorBodySize = 4
    // <linux/if_link.h>
    static let linkAttributeAddress: UInt16 = 1, linkAttributeName: UInt16 = 3, linkAttributeMTU: UInt16 = 4
    static let linkAttributeOperationalState: UInt16 = 16
    // <linux/if_addr.h>
    static let addressAttributeAddress: UInt16 = 1, addressAttributeLocal: UInt16 = 2, addressAttributeLabel: UInt16 = 3
    /// NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the top bits of `rta_type`.
    static let attributeTypeMask: UInt16 = 0x3FFF
    static let familyIPv4: UInt8 = 2, familyIPv6: UInt8 = 10

    static func aligned(_ n: Int) -> Int { (n + 3) & ~3 }

    /// Every message in `bytes` (one `recv`'s worth), in order.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RouteNetlinkError) -> [RouteNetlinkMessage] {
        var messages: [RouteNetlinkMessage] = []
        var offset = 0
        while offset < bytes.count {
            let available = bytes.count - offset
            guard available >= headerSize else { throw .truncatedHeader(offset: offset, available: available) }
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + lengthOffset, as: UInt32.self))
            guard length >= headerSize, length <= available else {
                throw .badMessageLength(offset: offset, length: length, available: available)
            }
            let type = bytes.loadUnaligned(fromByteOffset: offset + typeOffset, as: UInt16.self)
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerSize)..<(offset + length)])
            messages.append(try message(type: type, body: body))
            // The last message of a buffer may lack its padding.
            offset = min(offset + aligned(length), bytes.count)
        }
        return messages
    }

    private static func message(type: UInt16, body: UnsafeRawBufferPointer) throws(RouteNetlinkError) -> RouteNetlinkMessage {
        switch type {
        case doneType:
            return .done
        case errorType:
            guard body.count >= errorBodySize else { throw .truncatedBody(type: type, length: body.count + headerSize, needed: headerSize + errorBodySize) }
            return .error(0 &- body.loadUnaligned(as: Int32.self))
        case newLink, deleteLink:
            return .link(try link(type: type, body: body), deleted: type == deleteLink)
        case newAddress, deleteAddress:
            return .address(try address(type: type, body: body), deleted: type == deleteAddress)
        default:
            return .other(type: type)
        }
    }

    private static func link(type: UInt16, body: UnsafeRawBufferPointer) throws(RouteNetlinkError) -> LinkMessage {
        guard body.count >= linkHeaderSize else { throw .truncatedBody(type: type, length: body.count + headerSize, needed: headerSize + linkHeaderSize) }
        var link = LinkMessage(index: body.loadUnaligned(fromByteOffset: linkIndexOffset, as: Int32.self),
                               flags: body.loadUnaligned(fromByteOffset: linkFlagsOffset, as: UInt32.self))
        try attributes(of: type, UnsafeRawBufferPointer(rebasing: body[linkHeaderSize...])) { kind, value in
            switch kind {
            case linkAttributeName: link.name = string(value)
            case linkAttributeAddress where value.count == 6:
                link.mac = MACAddress(value[0], value[1], value[2], value[3], value[4], value[5])
            case linkAttributeMTU where value.count >= 4: link.mtu = Int(value.loadUnaligned(as: UInt32.self))
            case linkAttributeOperationalState where value.count >= 1: link.operationalState = value[0]
            default: break
            }
        }
        return link
    }

    private static func address(type: UInt16, body: UnsafeRawBufferPointer) throws(RouteNetlinkError) -> AddressMessage {
        guard body.count >= addressHeaderSize else { throw .truncatedBody(type: type, length: body.count + headerSize, needed: headerSize + addressHeaderSize) }
        let family = body[addressFamilyOffset], prefixLength = Int(body[addressPrefixOffset]), scope = body[addressScopeOffset]
        let index = body.loadUnaligned(fromByteOffset: addressIndexOffset, as: Int32.self)
        var local: UnsafeRawBufferPointer?, peer: UnsafeRawBufferPointer?, label: String?
        try attributes(of: type, UnsafeRawBufferPointer(rebasing: body[addressHeaderSize...])) { kind, value in
            switch kind {
            case addressAttributeLocal: local = value
            case addressAttributeAddress: peer = value
            case addressAttributeLabel: label = string(value)
            default: break
            }
        }
        let raw = (family == familyIPv4 ? local ?? peer : peer ?? local) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let ip: IPAddress
        switch (family, raw.count) {
        case (familyIPv4, 4) where prefixLength <= 32:
            ip = IPAddress(ipv4: raw.reduce(0) { $0 << 8 | UInt32($1) })
        case (familyIPv6, 16) where prefixLength <= 128:
            ip = IPAddress(high: raw[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: raw[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        default:
            throw .badAddress(family: family, bytes: raw.count, prefixLength: prefixLength)
        }
        return AddressMessage(index: index, address: ip, prefixLength: prefixLength, scope: scope, label: label)
    }

    /// Calls `body` with each attribute's type (flags masked off) and value.
    private static func attributes(of type: UInt16, _ bytes: UnsafeRawBufferPointer,
                                   _ body: (UInt16, UnsafeRawBufferPointer) -> Void) throws(RouteNetlinkError) {
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= attributeHeaderSize else {
                throw .badAttributeLength(type: type, offset: offset, length: bytes.count - offset)
            }
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            guard length >= attributeHeaderSize, length <= bytes.count - offset else {
                throw .badAttributeLength(type: type, offset: offset, length: length)
            }
            let kind = bytes.loadUnaligned(fromByteOffset: offset + attributeTypeOffset, as: UInt16.self) & attributeTypeMask
            body(kind, UnsafeRawBufferPointer(rebasing: bytes[(offset + attributeHeaderSize)..<(offset + length)]))
            offset = min(offset + aligned(length), bytes.count)
        }
    }

    /// A NUL-terminated attribute string (IFLA_IFNAME, IFA_LABEL).
    private static func string(_ value: UnsafeRawBufferPointer) -> String {
        String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A dump request (NLM_F_REQUEST | NLM_F_DUMP) of `type` (RTM_GETLINK or RTM_GETADDR) for
    /// every family, as the kernel wants it: header, then a zeroed `ifinfomsg` or `ifaddrmsg`.
    static func dumpRequest(type: UInt16, sequence: UInt32) -> [UInt8] {
        let bodySize = type == getLink ? linkHeaderSize : addressHeaderSize
        var bytes = [UInt8](repeating: 0, count: headerSize + bodySize)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
        }
        put(UInt32(bytes.count), at: lengthOffset)
        put(type, at: typeOffset)
        put(dumpRequestFlags, at: flagsOffset)
        put(sequence, at: sequenceOffset)
        return bytes
    }
}
