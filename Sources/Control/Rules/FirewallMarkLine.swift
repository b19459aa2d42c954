import Core
import Wire

/// `fwmark N tcp|udp VIP[/prefix] [PORTS]`: which traffic carries firewall mark N, for the
/// `-f N` services (`FirewallMarkRule`). It replaces the mangle rule (`iptables -t mangle -A
/// PREROUTING -d VIP -p tcp -m multiport --dports 80,443 -j MARK --set-mark 1`) a kernel LVS
/// setup writes next to `ipvsadm -A -f 1`, because AF_PACKET sees frames before netfilter
/// marks them. PORTS is a comma-separated list of ports and ranges (`80,443,8000-8100`,
/// names as in `-t`); without it every port. Read alike in a rules file and in
/// keepalived.conf's `lvsd_director` block.
enum FirewallMarkLine {
    static let keyword = "fwmark"
    static let usage = "write 'fwmark MARK tcp|udp VIP[/PREFIX] [PORT,LOW-HIGH,...]', e.g. 'fwmark 1 tcp 198.18.0.100 80,443'"

    static func apply(_ tokens: [RulesToken], to builder: inout RulesBuilder, at location: RulesLocation) throws(ConfigError) {
        guard tokens.count >= 4 else {
            throw location.error("'fwmark' needs a mark, a protocol and an address; \(usage)", at: tokens.last ?? tokens[0])
        }
        guard tokens.count <= 5 else { throw location.error("unexpected word '\(tokens[5].text)'; \(usage)", at: tokens[5]) }
        let values = RulesValues(location: location)
        let mark = UInt32(try values.number(tokens[1], in: 1...Int(Int32.max), what: "firewall mark"))
        let proto: TransportProtocol
        switch tokens[2].text {
        case "tcp": proto = .tcp
        case "udp": proto = .udp
        default: throw location.error("'\(tokens[2].text)' is not a protocol lvsd balances; give tcp or udp", at: tokens[2])
        }
        let net = tokens[3]
        let address: IPAddress
        var prefixLength: Int?
        if let slash = net.text.firstIndex(of: "/") {
            let head = net.text.distance(from: net.text.startIndex, to: slash)
            address = try values.address(RulesToken(text: String(net.text[..<slash]), column: net.column), what: "fwmark")
            let full = address.isIPv4 ? 32 : 128
            prefixLength = try values.number(net.suffix(from: head + 1), in: 0...full, what: "prefix length")
        } else {
            address = try values.address(net, what: "fwmark")
        }
        var ports: [ClosedRange<UInt16>] = []
        if tokens.count == 5 { ports = try portRanges(tokens[4], proto: proto, values) }
        builder.addFirewallMark(FirewallMarkRule(mark: mark, proto: proto, address: address, prefixLength: prefixLength,
                                                 ports: ports))
    }

    /// `80,443,8000-8100`: ports and inclusive ranges, low before high.
    static func portRanges(_ token: RulesToken, proto: TransportProtocol, _ values: RulesValues) throws(ConfigError) -> [ClosedRange<UInt16>] {
        var ranges: [ClosedRange<UInt16>] = []
        var column = 0
        for item in token.text.split(separator: ",", omittingEmptySubsequences: false) {
            let itemToken = RulesToken(text: String(item), column: token.column + column)
            column += item.count + 1
            guard !item.isEmpty else { throw values.error("an empty port in the list; write ports as 80,443,8000-8100", at: itemToken) }
            if let dash = item.firstIndex(of: "-") {
                let low = try values.port(RulesToken(text: String(item[..<dash]), column: itemToken.column), proto: proto)
                let high = try values.port(itemToken.suffix(from: item.distance(from: item.startIndex, to: dash) + 1), proto: proto)
                guard low <= high else {
                    throw values.error("port range \(item) runs backwards; write the lower port first", at: itemToken)
                }
                ranges.append(low...high)
            } else {
                let port = try values.port(itemToken, proto: proto)
                ranges.append(port...port)
            }
        }
        return ranges
    }
}
