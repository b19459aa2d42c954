import Core
import Wire

/// Interprets option values: addresses with ports, numbers, netmasks, scheduler names and
/// flags. Each function reports at the value's own column, or at the part of it that is
/// wrong (the port of `VIP:port`).
struct RulesValues {
    var location: RulesLocation
    /// Decides the readings ipvsadm and a rules file differ on: signed numbers, empty list
    /// items, `[IPv6]` without a port, port names of the other protocol.
    var strictness: IPVSStrictness = .rulesFile

    /// The longest persistence or connection timeout ipvsadm accepts (`MAX_TIMEOUT`, 31 days).
    static let maximumTimeout = 86_400 * 31

    func error(_ message: String, at token: RulesToken) -> ConfigError {
        location.error(message, at: token)
    }

    /// A numeric IPv4 or IPv6 address. Host names are refused: a rules file must mean the
    /// same thing on every machine, without DNS.
    func address(_ token: RulesToken, what: String) throws(ConfigError) -> IPAddress {
        guard !token.text.isEmpty else { throw error("missing \(what) address", at: token) }
        guard let address = IPAddress(token.text) else {
            if token.text.contains(where: { $0.isLetter }) && !token.text.contains(":") {
                throw error("'\(token.text)' is not an IP address; rules files take numeric \(what) addresses, not host names", at: token)
            }
            throw error("'\(token.text)' is not a valid IPv4 or IPv6 \(what) address", at: token)
        }
        return address
    }

    /// `ADDR`, `ADDR:port`, `[v6]:port`, `[v6]` or a bare IPv6 address (as ipvsadm's
    /// `parse_service`: a word that is a whole IPv6 address has no port). The port is nil
    /// when the word has none.
    func addressAndPort(_ token: RulesToken, what: String, proto: TransportProtocol? = nil) throws(ConfigError) -> (IPAddress, UInt16?) {
        let text = token.text
        let proto = strictness.portNamesOfEitherProtocol ? nil : proto
        if !strictness.bracketedAddressWithoutPort, IPVSStrictness.isBracketedWithoutPort(text) {
            throw error("'\(text)' needs its port: write it as \(text):80", at: token)
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw error("'\(text)' opens '[' but has no ']'; write an IPv6 \(what) as [2001:db8::1]:80", at: token)
            }
            let inner = RulesToken(text: String(text[text.index(after: text.startIndex)..<close]), column: token.column + 1)
            let address = try self.address(inner, what: what)
            guard !address.isIPv4 else {
                throw error("brackets are for IPv6 addresses; write the IPv4 \(what) '\(inner.text)' without them", at: inner)
            }
            let afterLength = text.distance(from: text.startIndex, to: close) + 1
            let rest = token.suffix(from: afterLength)
            if rest.text.isEmpty { return (address, nil) }
            guard rest.text.hasPrefix(":") else {
                throw error("expected ':port' after ']' in '\(text)'", at: rest)
            }
            return (address, try port(rest.suffix(from: 1), proto: proto))
        }
        if text.filter({ $0 == ":" }).count >= 2 {
            return (try address(token, what: what), nil)
        }
        guard let colon = text.lastIndex(of: ":") else {
            return (try address(token, what: what), nil)
        }
        let addressLength = text.distance(from: text.startIndex, to: colon)
        let addressToken = RulesToken(text: String(text[..<colon]), column: token.column)
        let parsed = try address(addressToken, what: what)
        return (parsed, try port(token.suffix(from: addressLength + 1), proto: proto))
    }

    /// A port number 0...65535 or a name from `PortNames` (for `proto`, when given).
    func port(_ token: RulesToken, proto: TransportProtocol? = nil) throws(ConfigError) -> UInt16 {
        let text = token.text
        guard !text.isEmpty else { throw error("missing port after ':'", at: token) }
        if text.allSatisfy(\.isASCIIDigit) {
            guard text.count <= 5, let value = Int(text), value <= 65535 else {
                throw error("port \(text) is out of range; give 0 to 65535", at: token)
            }
            return UInt16(value)
        }
        guard let value = PortNames.port(named: text, proto: proto) else {
            if let proto, PortNames.port(named: text) != nil {
                throw error("'\(text)' is not a \(proto) service name; give the port number", at: token)
            }
            throw error("unknown port '\(text)'; give a number from 0 to 65535 or one of: \(PortNames.knownNames)", at: token)
        }
        return value
    }

    /// A decimal number in `range`, as ipvsadm's `string_to_number`.
    func number(_ token: RulesToken, in range: ClosedRange<Int>, what: String) throws(ConfigError) -> Int {
        let text = token.text
        guard let value = strictness.number(text, in: range) else {
            throw error("invalid \(what) '\(text)'; give a number from \(range.lowerBound) to \(range.upperBound)", at: token)
        }
        return value
    }

    /// `-M`: for an IPv4 service a dotted, contiguous mask (255.255.255.0 → 24); for IPv6
    /// a prefix length 1...128, as ipvsadm takes them.
    func prefixLength(_ token: RulesToken, ipv6: Bool) throws(ConfigError) -> Int {
        if ipv6 {
            return try number(token, in: 1...128, what: "IPv6 persistence prefix length")
        }
        guard !token.text.contains(":"), let mask = IPAddress(token.text) else {
            throw error("invalid netmask '\(token.text)' for an IPv4 service; give a dotted mask such as 255.255.255.0", at: token)
        }
        let bits = mask.ipv4
        let length = (~bits).leadingZeroBitCount
        guard bits == (length == 0 ? 0 : ~(UInt32.max >> UInt32(length))) else {
            throw error("netmask \(token.text) is not contiguous; its one-bits must all come first, as in 255.255.255.0", at: token)
        }
        return length
    }

    /// A scheduler by its ipvsadm name.
    func scheduler(_ token: RulesToken) throws(ConfigError) -> SchedulerKind {
        guard let kind = SchedulerKind(rawValue: token.text) else {
            let known = SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw error("unknown scheduler '\(token.text)' (known: \(known))", at: token)
        }
        return kind
    }

    /// ipvsadm's `--sched-flags` list (`parse_sched_flags`): `flag-N` for any scheduler,
    /// `sh-*` only with sh and `mh-*` only with mh.
    func schedulerFlags(_ token: RulesToken, scheduler: SchedulerKind) throws(ConfigError) -> SchedulerFlags {
        var flags: SchedulerFlags = []
        var offset = 0
        for name in token.text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = token.suffix(from: offset)
            let flagToken = RulesToken(text: String(name), column: part.column)
            offset += name.count + 1
            if name.isEmpty && strictness.emptyListItems { continue }
            guard let (flag, owner) = SchedulerFlagNames.named(String(name)) else {
                let known = SchedulerFlagNames.table.map(\.name).joined(separator: ", ")
                let shown = name.isEmpty ? "an empty scheduler flag" : "unknown scheduler flag '\(name)'"
                throw error("\(shown) (known: \(known))", at: flagToken)
            }
            if let owner, owner != scheduler.rawValue {
                throw error("scheduler flag '\(name)' belongs to the \(owner) scheduler, but this service uses \(scheduler.rawValue)", at: flagToken)
            }
            flags.insert(flag)
        }
        return flags
    }

    /// A MAC address for the director-setting lines.
    func mac(_ token: RulesToken) throws(ConfigError) -> MACAddress {
        guard token.text.contains(":") || token.text.contains("-"), let mac = MACAddress(token.text) else {
            throw error("'\(token.text)' is not a MAC address; write six hex octets such as 02:00:00:00:00:01", at: token)
        }
        return mac
    }
}

/// Scheduler-flag spellings (ipvsadm 1.31 `parse_sched_flags` / `print_sched_flags`).
enum SchedulerFlagNames {
    /// Name, flag, and the scheduler the name is reserved for (nil: any scheduler).
    static let table: [(name: String, flag: SchedulerFlags, owner: String?)] = [
        ("sh-fallback", .fallback, "sh"),
        ("sh-port", .port, "sh"),
        ("mh-fallback", .fallback, "mh"),
        ("mh-port", .port, "mh"),
        ("flag-1", .fallback, nil),
        ("flag-2", .port, nil),
        ("flag-3", .flag3, nil),
    ]

    static func named(_ name: String) -> (SchedulerFlags, String?)? {
        table.first { $0.name == name }.map { ($0.flag, $0.owner) }
    }

    /// The names `ipvsadm -S` prints for `flags` under `scheduler`: the scheduler's own
    /// names where it has them, `flag-N` for the rest.
    static func names(of flags: SchedulerFlags, scheduler: SchedulerKind) -> [String] {
        let own = table.filter { $0.owner == scheduler.rawValue }
        var names: [String] = []
        for (generic, flag) in [("flag-1", SchedulerFlags.fallback), ("flag-2", .port), ("flag-3", .flag3)]
        where flags.contains(flag) {
            names.append(own.first { $0.flag == flag }?.name ?? generic)
        }
        return names
    }
}
