import Wire

/// The FTP control-connection lines that name a data connection's endpoint, found and
/// rewritten in a segment's payload in place: the client's `PORT h1,h2,h3,h4,p1,p2` (RFC 959
/// §4.1.2) and `EPRT |af|address|port|` (RFC 2428 §2), the server's `227 ... (h1,...,p2)`
/// reply to PASV (RFC 959 §4.2) and `229 ... (|||port|)` reply to EPSV (RFC 2428 §3).
///
/// Behaviour ported from Linux's IPVS helper (net/netfilter/ipvs/ip_vs_ftp.c,
/// `ip_vs_ftp_get_addrport`): a line is looked for only at the start of a segment's payload
/// and only when the whole line, through its CRLF, is in that segment. A line split over two
/// segments is left alone (the data connection it names is then not expected, as with IPVS);
/// clients and servers send these lines in one write, so in practice they arrive whole.
/// Every number is bounded (an octet ≤ 255, a port ≤ 65535, at most 5 digits); anything
/// else after a recognised verb is `malformed`, never a trap. Nothing allocates.
public enum FTPControlLine {
    /// Which line named the endpoint.
    public enum Kind: UInt8, Sendable {
        /// `PORT h1,h2,h3,h4,p1,p2` from the client: active mode, IPv4.
        case port
        /// `EPRT |1|a.b.c.d|port|` or `EPRT |2|v6|port|` from the client: active mode.
        case extendedPort
        /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` from the server: passive mode.
        case passiveReply
        /// `229 Entering Extended Passive Mode (|||port|)` from the server: passive mode,
        /// port only (the address is the control connection's).
        case extendedPassiveReply

        /// Whether the client sends it (an active-mode line).
        public var fromClient: Bool { self == .port || self == .extendedPort }
    }

    /// An endpoint found in a line: the address (absent in a 229 reply), the port, and the
    /// byte range of the text that names them, which a rewrite replaces.
    public struct Endpoint: Equatable, Sendable {
        public var kind: Kind
        public var address: IPAddress?
        public var port: UInt16
        /// Offsets in the payload: `start` is the first byte of the endpoint text, `end` one
        /// past its last (the terminator: `)` or CR).
        public var start: Int
        public var end: Int
        /// EPRT's delimiter (RFC 2428: any printable ASCII character), kept in a rewrite.
        public var delimiter: UInt8

        public init(kind: Kind, address: IPAddress?, port: UInt16, start: Int, end: Int, delimiter: UInt8 = 0x7C) {
            self.kind = kind
            self.address = address
            self.port = port
            self.start = start
            self.end = end
            self.delimiter = delimiter
        }
    }

    /// What a payload holds.
    public enum Scan: Equatable, Sendable {
        /// No endpoint line at the start of the payload, or one not whole in this segment.
        case none
        /// A recognised verb or reply code with numbers that do not parse.
        case malformed
        case found(Endpoint)
    }

    /// The longest endpoint text a rewrite writes: `|2|` + 8 groups of 4 hex digits and 7
    /// colons + `|65535|`.
    public static let maximumEndpointText = 3 + 39 + 7

    static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, space: UInt8 = 0x20, comma: UInt8 = 0x2C
    static let openParen: UInt8 = 0x28, closeParen: UInt8 = 0x29, dot: UInt8 = 0x2E, colon: UInt8 = 0x3A

    /// Scans a payload from the client for `PORT` or `EPRT`.
    public static func scanClient(_ payload: UnsafeRawBufferPointer) -> Scan {
        if hasPrefix(payload, "PORT") { return scan(payload, .port, verbLength: 4) }
        if hasPrefix(payload, "EPRT") { return scan(payload, .extendedPort, verbLength: 4) }
        return .none
    }

    /// Scans a payload from the server for a `227` or `229` reply.
    public static func scanServer(_ payload: UnsafeRawBufferPointer) -> Scan {
        if hasPrefix(payload, "227 ") { return scan(payload, .passiveReply, verbLength: 4) }
        if hasPrefix(payload, "229 ") { return scan(payload, .extendedPassiveReply, verbLength: 4) }
        return .none
    }

    /// Case-insensitive match of an ASCII prefix (ip_vs_ftp's `strncasecmp`).
    static func hasPrefix(_ payload: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard payload.count >= n else { return false }
        let p = prefix.utf8Start
        for i in 0..<n where payload[i] | 0x20 != p[i] | 0x20 { return false }
        return true
    }

    static func scan(_ payload: UnsafeRawBufferPointer, _ kind: Kind, verbLength: Int) -> Scan {
        // The whole line first: without its CRLF in this segment, nothing is touched.
        var lineEnd = verbLength
        while lineEnd + 1 < payload.count && !(payload[lineEnd] == cr && payload[lineEnd + 1] == lf) { lineEnd += 1 }
        guard lineEnd + 1 < payload.count else { return .none }
        var i = verbLength
        let start: Int
        switch kind {
        case .port, .extendedPort:
            // The argument follows one or more spaces and runs to the CR.
            guard i < lineEnd, payload[i] == space else { return .malformed }
            while i < lineEnd && payload[i] == space { i += 1 }
            start = i
        case .passiveReply, .extendedPassiveReply:
            // The numbers follow the first '(' of the reply text.
            while i < lineEnd && payload[i] != openParen { i += 1 }
            guard i < lineEnd else { return .malformed }
            i += 1
            start = i
        }
        let terminator = kind.fromClient ? cr : closeParen
        var end = start
        while end < lineEnd && payload[end] != terminator { end += 1 }
        if !kind.fromClient && end == lineEnd { return .malformed }
        let text = UnsafeRawBufferPointer(rebasing: payload[start..<end])
        switch kind {
        case .port, .passiveReply:
            guard let (address, port) = parseSixNumbers(text) else { return .malformed }
            return .found(Endpoint(kind: kind, address: address, port: port, start: start, end: end))
        case .extendedPort:
            guard let (address, port, d) = parseExtended(text, needsAddress: true), let address else { return .malformed }
            return .found(Endpoint(kind: kind, address: address, port: port, start: start, end: end, delimiter: d))
        case .extendedPassiveReply:
            guard let (_, port, d) = parseExtended(text, needsAddress: false) else { return .malformed }
            return .found(Endpoint(kind: kind, address: nil, port: port, start: start, end: end, delimiter: d))
        }
    }

    /// `h1,h2,h3,h4,p1,p2`, each 0–255 (RFC 959 §4.1.2, "host-port").
    static func parseSixNumbers(_ text: UnsafeRawBufferPointer) -> (IPAddress, UInt16)? {
        var values: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0)
        var i = 0
        for n in 0..<6 {
            if n > 0 {
                guard i < text.count, text[i] == comma else { return nil }
                i += 1
            }
            guard let (v, next) = decimal(text, from: i, maximum: 255) else { return nil }
            i = next
            switch n {
            case 0: values.0 = v
            case 1: values.1 = v
            case 2: values.2 = v
            case 3: values.3 = v
            case 4: values.4 = v
            default: values.5 = v
            }
        }
        guard i == text.count else { return nil }
        let address = values.0 << 24 | values.1 << 16 | values.2 << 8 | values.3
        return (IPAddress(ipv4: address), UInt16(values.4 << 8 | values.5))
    }

    /// `<d>af<d>address<d>port<d>` (RFC 2428 §2); for a 229 reply `<d><d><d>port<d>`.
    static func parseExtended(_ text: UnsafeRawBufferPointer, needsAddress: Bool) -> (IPAddress?, UInt16, UInt8)? {
        guard text.count >= 4 else { return nil }
        let d = text[0]
        // RFC 2428: the delimiter is printable ASCII (33–126), and not a digit in practice.
        guard d >= 33 && d <= 126 && !(d >= 0x30 && d <= 0x39) else { return nil }
        var i = 1
        var address: IPAddress?
        if needsAddress {
            guard let (family, afterFamily) = decimal(text, from: i, maximum: 2), family >= 1,
                  afterFamily < text.count, text[afterFamily] == d else { return nil }
            i = afterFamily + 1
            var addressEnd = i
            while addressEnd < text.count && text[addressEnd] != d { addressEnd += 1 }
            guard addressEnd < text.count else { return nil }
            let field = UnsafeRawBufferPointer(rebasing: text[i..<addressEnd])
            address = family == 1 ? parseIPv4(field) : parseIPv6(field)
            guard address != nil else { return nil }
            i = addressEnd + 1
        } else {
            guard text[1] == d, text[2] == d else { return nil }
            i = 3
        }
        guard let (port, afterPort) = decimal(text, from: i, maximum: 65535), afterPort + 1 == text.count,
              text[afterPort] == d else { return nil }
        return (address, UInt16(port), d)
    }

    /// A decimal of 1 to 5 digits not above `maximum`; its value and the offset after it.
    static func decimal(_ text: UnsafeRawBufferPointer, from: Int, maximum: UInt32) -> (UInt32, Int)? {
        var i = from, value: UInt32 = 0
        while i < text.count && i - from < 5, text[i] >= 0x30 && text[i] <= 0x39 {
            value = value * 10 + UInt32(text[i] - 0x30)
            i += 1
        }
        guard i > from, value <= maximum, i == text.count || !(text[i] >= 0x30 && text[i] <= 0x39) else { return nil }
        return (value, i)
    }

    /// Dotted-quad IPv4.
    static func parseIPv4(_ text: UnsafeRawBufferPointer) -> IPAddress? {
        var value: UInt32 = 0, i = 0
        for n in 0..<4 {
            if n > 0 {
                guard i < text.count, text[i] == dot else { return nil }
                i += 1
            }
            guard let (octet, next) = decimal(text, from: i, maximum: 255) else { return nil }
            value = value << 8 | octet
            i = next
        }
        return i == text.count ? IPAddress(ipv4: value) : nil
    }

    /// RFC 4291 §2.2 text of an IPv6 address: up to 8 hex groups, at most one `::`. The
    /// dotted-quad tail form is not taken (an FTP client names its own address, which
    /// `inet_ntop` never writes that way except for mapped and compatible addresses).
    static func parseIPv6(_ text: UnsafeRawBufferPointer) -> IPAddress? {
        var groups: (UInt64, UInt64) = (0, 0)  // written as 8 × 16 bits, high then low
        // The groups as read, then placed around the "::" gap; no allocation.
        var values: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0, gap = -1, i = 0
        if text.count >= 2 && text[0] == colon && text[1] == colon { gap = 0; i = 2 }
        while i < text.count {
            var group: UInt32 = 0, digits = 0
            while i < text.count, let h = hexValue(text[i]) {
                guard digits < 4 else { return nil }
                group = group << 4 | UInt32(h)
                digits += 1
                i += 1
            }
            guard digits > 0, count < 8 else { return nil }
            withUnsafeMutableBytes(of: &values) { $0.storeBytes(of: UInt16(group), toByteOffset: count * 2, as: UInt16.self) }
            count += 1
            if i == text.count { break }
            guard text[i] == colon else { return nil }
            i += 1
            if i < text.count && text[i] == colon {
                guard gap < 0 else { return nil }
                gap = count
                i += 1
            } else if i == text.count {
                return nil
            }
        }
        guard gap >= 0 ? count < 8 : count == 8 else { return nil }
        let zeros = 8 - count
        for k in 0..<8 {
            let g: UInt16
            if gap < 0 || k < gap { g = withUnsafeBytes(of: values) { $0.load(fromByteOffset: k * 2, as: UInt16.self) } }
            else if k < gap + zeros { g = 0 }
            else { g = withUnsafeBytes(of: values) { $0.load(fromByteOffset: (k - zeros) * 2, as: UInt16.self) } }
            if k < 4 { groups.0 |= UInt64(g) << UInt64(48 - 16 * k) } else { groups.1 |= UInt64(g) << UInt64(48 - 16 * (k - 4)) }
        }
        return IPAddress(high: groups.0, low: groups.1)
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
