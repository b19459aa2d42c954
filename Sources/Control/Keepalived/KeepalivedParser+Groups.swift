import Core
import Wire

/// A `virtual_server_group`: the addresses (and ports) a `virtual_server group NAME` block
/// applies to, one service each.
struct ServerGroup {
    struct Member {
        var address: IPAddress
        var port: UInt16
        /// The entry's first word, where errors about this member point.
        var word: KeepalivedWord
        /// A `fwmark N` entry's mark (its address is the family's zero, port 0); 0 otherwise.
        var fwmark: UInt32 = 0

        /// The director service this member is, for a virtual server of `proto`.
        func key(_ proto: TransportProtocol) -> ServiceKey {
            fwmark != 0 ? ServiceKey(fwmark: fwmark, ipv6: !address.isIPv4) : ServiceKey(proto, address, port)
        }
    }

    var name: KeepalivedWord
    var members: [Member]
}

/// A DPVS `local_address_group`: FullNAT local addresses (LIPs), each with the DPVS
/// interface it lives on, which lvsd does not need.
struct LocalAddressGroup {
    var name: KeepalivedWord
    var addresses: [(address: IPAddress, word: KeepalivedWord)]
}

extension KeepalivedParser {
    /// The most addresses one range entry may stand for; a group is a list of services, not a subnet.
    static let maximumRangeSize: UInt64 = 4096

    private func groupName(_ statement: KeepalivedStatement, usage: String) throws(ConfigError) -> KeepalivedWord {
        try statement.argumentsAllowingBlock(1...1, usage)[0]
    }

    /// `virtual_server_group NAME { IP[-END|/LEN] [PORT] ... }` (check_data.c `alloc_vsg_entry`).
    /// `fwmark N` entries stand for the firewall-mark service N, whose traffic the
    /// `lvsd_director` block's `fwmark` lines describe (`FirewallMarkLine`).
    mutating func parseServerGroup(_ statement: KeepalivedStatement) throws(ConfigError) {
        let usage = "virtual_server_group NAME"
        let name = try groupName(statement, usage: usage)
        if let earlier = serverGroups[name.text] {
            throw name.location.error("virtual_server_group \(name.text) is already declared at \(earlier.name.location)")
        }
        var members: [ServerGroup.Member] = []
        for entry in try statement.contents(usage) {
            if entry.name == "fwmark" {
                let word = try entry.value("fwmark MARK")
                let mark = UInt32(try KeepalivedValues.number(word, in: 1...UInt64(Int32.max), what: "fwmark"))
                members.append(ServerGroup.Member(address: IPAddress(ipv4: 0), port: 0, word: entry.keyword, fwmark: mark))
                continue
            }
            let words = try entry.arguments(0...1, "IP[-END|/LEN] [PORT]")
            let port = try words.first.map { word throws(ConfigError) in try KeepalivedValues.port(word, what: "virtual server") } ?? 0
            for address in try Self.addressRange(entry.keyword, what: "virtual server group") {
                members.append(ServerGroup.Member(address: address, port: port, word: entry.keyword))
            }
        }
        guard !members.isEmpty else {
            throw name.location.error("virtual_server_group \(name.text) has no entries; list 'IP PORT' lines in its block")
        }
        serverGroups[name.text] = ServerGroup(name: name, members: members)
    }

    /// DPVS `local_address_group NAME { IP[-END] [IFNAME] ... }` (DPVS check_data.c `alloc_laddr_entry`).
    mutating func parseLocalAddressGroup(_ statement: KeepalivedStatement) throws(ConfigError) {
        let usage = "local_address_group NAME"
        let name = try groupName(statement, usage: usage)
        if let earlier = localAddressGroups[name.text] {
            throw name.location.error("local_address_group \(name.text) is already declared at \(earlier.name.location)")
        }
        var addresses: [(IPAddress, KeepalivedWord)] = []
        for entry in try statement.contents(usage) {
            _ = try entry.arguments(0...1, "IP[-END] [INTERFACE]")
            for address in try Self.addressRange(entry.keyword, what: "local") {
                addresses.append((address, entry.keyword))
            }
        }
        localAddressGroups[name.text] = LocalAddressGroup(name: name, addresses: addresses)
    }

    /// DPVS `deny_address_group` / `allow_address_group`: kept to judge the virtual servers
    /// that name them (`daddr_group_name`, `waddr_group_name`).
    mutating func parseAccessGroup(_ statement: KeepalivedStatement) throws(ConfigError) {
        let name = try groupName(statement, usage: "\(statement.name) NAME")
        _ = try statement.contents("\(statement.name) NAME")
        accessGroups[statement.name + " " + name.text] = statement
    }

    /// The FullNAT local addresses a parsed virtual server names with `laddr_group_name`.
    func localAddresses(for parsed: ParsedVirtualServer) throws(ConfigError) -> [(address: IPAddress, word: KeepalivedWord)] {
        guard let reference = parsed.localAddressGroup else { return [] }
        guard let group = localAddressGroups[reference.text] else {
            let declared = localAddressGroups.keys.sorted().joined(separator: ", ")
            throw reference.location.error("no local_address_group named '\(reference.text)'\(declared.isEmpty ? "" : " (declared: \(declared))")")
        }
        return group.addresses
    }

    /// One address, or keepalived's range forms: `A.B.C.D-N` (last octet up to N; for IPv6
    /// the last group, in hex), `A-B` (two full addresses), `A/LEN` (every address of the
    /// prefix, whose host bits must be zero). At most `maximumRangeSize` addresses.
    static func addressRange(_ word: KeepalivedWord, what: String) throws(ConfigError) -> [IPAddress] {
        let text = word.text
        func part(_ sub: Substring, offset: Int) -> KeepalivedWord {
            var location = word.location
            location.column += offset
            return KeepalivedWord(text: String(sub), location: location, quoted: word.quoted)
        }
        if let slash = text.firstIndex(of: "/") {
            let base = try KeepalivedValues.address(part(text[..<slash], offset: 0), what: what)
            let offset = text.distance(from: text.startIndex, to: slash) + 1
            let bits = base.isIPv4 ? 32 : 128
            let length = Int(try KeepalivedValues.number(part(text[text.index(after: slash)...], offset: offset), in: 1...UInt64(bits), what: "prefix length"))
            guard base.masked(prefixLength: length) == base else {
                throw word.location.error("\(text) has host bits set; write the network address, such as \(base.masked(prefixLength: length))/\(length)")
            }
            guard bits - length < 63, UInt64(1) << UInt64(bits - length) <= maximumRangeSize else {
                throw word.location.error("\(text) stands for more than \(maximumRangeSize) addresses; lvsd makes one service per address")
            }
            return addresses(from: base, count: UInt64(1) << UInt64(bits - length))
        }
        guard let dash = text.firstIndex(of: "-") else {
            return [try KeepalivedValues.address(word, what: what)]
        }
        let start = try KeepalivedValues.address(part(text[..<dash], offset: 0), what: what)
        let offset = text.distance(from: text.startIndex, to: dash) + 1
        let tail = part(text[text.index(after: dash)...], offset: offset)
        let end: IPAddress
        if tail.text.contains(start.isIPv4 ? "." : ":") {
            end = try KeepalivedValues.address(tail, what: what)
            guard end.isIPv4 == start.isIPv4 else {
                throw tail.location.error("the range end \(tail.text) is not of the start's address family")
            }
        } else if start.isIPv4 {
            let last = try KeepalivedValues.number(tail, in: 0...255, what: "range end")
            end = IPAddress(ipv4: start.ipv4 & 0xFFFF_FF00 | UInt32(last))
        } else {
            guard !tail.text.isEmpty, tail.text.count <= 4, let last = UInt64(tail.text, radix: 16) else {
                throw tail.location.error("invalid range end '\(tail.text)'; give the last group of the IPv6 address in hex (0 to ffff)")
            }
            end = IPAddress(high: start.high, low: start.low & ~0xFFFF | last)
        }
        guard start < end else {
            throw tail.location.error("the range end \(end) is not above its start \(start)")
        }
        guard start.high == end.high, end.low - start.low < maximumRangeSize else {
            throw word.location.error("\(text) stands for more than \(maximumRangeSize) addresses; lvsd makes one service per address")
        }
        return addresses(from: start, count: end.low - start.low + 1)
    }

    private static func addresses(from start: IPAddress, count: UInt64) -> [IPAddress] {
        (0..<count).map { IPAddress(high: start.high, low: start.low + $0) }
    }
}
