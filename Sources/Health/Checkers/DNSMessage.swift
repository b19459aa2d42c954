/// The two DNS messages DNS_CHECK handles (RFC 1035 section 4.1): the query it sends and the
/// header of the reply it judges. keepalived's check_dns.c reads nothing past the header; the
/// reader here does the same, so what it accepts is exactly what keepalived accepts.

/// A query record type DNS_CHECK can ask for (RFC 1035 3.2.2, RFC 3596 for AAAA).
public enum DNSQueryType: String, Hashable, Sendable, CaseIterable {
    case a = "A"
    case ns = "NS"
    case cname = "CNAME"
    case soa = "SOA"
    case mx = "MX"
    case txt = "TXT"
    case aaaa = "AAAA"

    /// The TYPE code on the wire.
    public var code: UInt16 {
        switch self {
        case .a: 1
        case .ns: 2
        case .cname: 5
        case .soa: 6
        case .mx: 15
        case .txt: 16
        case .aaaa: 28
        }
    }
}

/// A DNS query: header with RD set, one question of class IN (check_dns.c dns_make_query).
public struct DNSQuery: Hashable, Sendable {
    public static let classIN: UInt16 = 1
    /// RFC 1035 2.3.4: a label has at most 63 octets, a name at most 255 on the wire.
    public static let maximumLabelLength = 63
    public static let maximumNameLength = 255

    public var id: UInt16
    public var name: String
    public var type: DNSQueryType

    public init(id: UInt16, name: String, type: DNSQueryType) {
        self.id = id
        self.name = name
        self.type = type
    }

    /// Why `name` cannot be queried, or nil. `.` and the empty name are the root.
    public static func problem(name: String) -> String? {
        let labels = Self.labels(of: name)
        if labels.contains(where: \.isEmpty) { return "DNS_CHECK name '\(name)' has an empty label" }
        if let long = labels.first(where: { $0.utf8.count > maximumLabelLength }) {
            return "DNS_CHECK name '\(name)': label '\(long)' is longer than \(maximumLabelLength) bytes"
        }
        if wireLength(labels) > maximumNameLength { return "DNS_CHECK name '\(name)' is longer than \(maximumNameLength) bytes" }
        return nil
    }

    /// The labels of `name`; one trailing dot (fully qualified) is allowed.
    static func labels(of name: String) -> [Substring] {
        if name.isEmpty || name == "." { return [] }
        let trimmed = name.hasSuffix(".") ? name.dropLast() : Substring(name)
        return trimmed.split(separator: ".", omittingEmptySubsequences: false)
    }

    static func wireLength(_ labels: [Substring]) -> Int { labels.reduce(1) { $0 + 1 + $1.utf8.count } }

    /// The datagram (header, QNAME as length-prefixed labels, QTYPE, QCLASS).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(DNSHeader.length + 4 + name.utf8.count + 2)
        // ID, flags (RD), QDCOUNT 1, ANCOUNT, NSCOUNT, ARCOUNT 0.
        out += [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(DNSHeader.recursionDesired >> 8), 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in Self.labels(of: name) {
            out.append(UInt8(label.utf8.count))
            out += label.utf8
        }
        out.append(0)
        out += [UInt8(type.code >> 8), UInt8(type.code & 0xFF), 0, UInt8(Self.classIN)]
        return out
    }
}

/// A read-only view of a DNS header (RFC 1035 4.1.1) over bytes someone else owns: one length
/// check in the initializer, then every accessor is in bounds.
public struct DNSHeader {
    public static let length = 12
    static let idOffset = 0
    static let flagsOffset = 2
    static let questionCountOffset = 4
    static let responseFlag: UInt16 = 0x8000
    static let recursionDesired: UInt16 = 0x0100
    static let responseCodeMask: UInt16 = 0x000F

    private let bytes: ArraySlice<UInt8>

    /// nil when fewer than 12 bytes arrived.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.length else { return nil }
        self.bytes = bytes
    }

    private func u16(_ offset: Int) -> UInt16 {
        let i = bytes.startIndex + offset
        return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
    }

    public var id: UInt16 { u16(Self.idOffset) }
    public var flags: UInt16 { u16(Self.flagsOffset) }
    /// QR: set in responses.
    public var isResponse: Bool { flags & Self.responseFlag != 0 }
    /// RCODE: 0 no error, 1 format error, 2 server failure, 3 name error, 4 not implemented, 5 refused.
    public var responseCode: Int { Int(flags & Self.responseCodeMask) }
    public var questionCount: UInt16 { u16(Self.questionCountOffset) }
}

/// What DNS_CHECK makes of one datagram that arrived on its socket (check_dns.c dns_recv_thread).
public enum DNSReplyVerdict: Equatable, Sendable {
    /// A response to our query with RCODE 0: the check passes. keepalived asks nothing more
    /// (an empty answer section passes too).
    case answered
    /// A response to our query with an error RCODE: the check fails.
    case error(rcode: Int)
    /// Not a response to our query: keepalived drops it and keeps waiting until the timeout.
    case ignored(DNSIgnoredReason)

    /// RFC 1035 4.1.1 RCODE names, for the failure sentence.
    public static func rcodeName(_ code: Int) -> String {
        switch code {
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "rcode \(code)"
        }
    }
}

/// Why a datagram was not taken as the reply.
public enum DNSIgnoredReason: Equatable, Sendable, CustomStringConvertible {
    case shorterThanHeader(Int)
    case idMismatch(expected: UInt16, got: UInt16)
    case notAResponse

    public var description: String {
        switch self {
        case .shorterThanHeader(let n): "a \(n)-byte datagram is shorter than a DNS header"
        case .idMismatch(let expected, let got): "reply id \(got) is not the query's \(expected)"
        case .notAResponse: "the datagram is a query, not a response"
        }
    }
}

extension DNSQuery {
    /// Judges a datagram against this query.
    public func judge(_ datagram: ArraySlice<UInt8>) -> DNSReplyVerdict {
        guard let header = DNSHeader(datagram) else { return .ignored(.shorterThanHeader(datagram.count)) }
        guard header.id == id else { return .ignored(.idMismatch(expected: id, got: header.id)) }
        guard header.isResponse else { return .ignored(.notAResponse) }
        let rcode = header.responseCode
        return rcode == 0 ? .answered : .error(rcode: rcode)
    }
}
