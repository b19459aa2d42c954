import Core
import Wire

/// SwiftLVS's own lines, which ipvsadm has no words for: the director's interfaces and the
/// static neighbours (MACs of real servers, clients and gateways) it needs when no ARP can
/// run, as in offline replay of a DR setup.
///
///     interface NAME mac MAC [mtu N] [address IP]...
///     neighbour IP mac MAC [interface NAME]
///
/// Interfaces are numbered 0, 1, ... in the order they are declared; a neighbour refers to
/// one by name (default: the first) that must be declared on an earlier line. After the
/// first word, the keyword/value pairs may come in any order. `neighbor` is accepted for
/// `neighbour`.
enum DirectorSettingLines {
    static let interfaceKeyword = "interface"
    static let neighbourKeywords: Set<String> = ["neighbour", "neighbor"]

    static func handles(_ word: String) -> Bool {
        word == interfaceKeyword || neighbourKeywords.contains(word)
    }

    /// Linux's IFNAMSIZ less the terminating NUL.
    static let maximumInterfaceNameLength = 15

    static func apply(_ tokens: [RulesToken], to builder: inout RulesBuilder, at location: RulesLocation) throws(ConfigError) {
        if tokens[0].text == interfaceKeyword {
            try interface(tokens, &builder, location)
        } else {
            try neighbour(tokens, &builder, location)
        }
    }

    /// The keyword/value pairs after a line's subject, in line order.
    private static func pairs(_ tokens: ArraySlice<RulesToken>, allowed: [String], repeatable: Set<String>,
                              _ location: RulesLocation) throws(ConfigError) -> [(key: RulesToken, value: RulesToken)]
    {
        var result: [(key: RulesToken, value: RulesToken)] = []
        var index = tokens.startIndex
        while index < tokens.endIndex {
            let key = tokens[index]
            guard allowed.contains(key.text) else {
                let list = allowed.map { "'\($0)'" }.joined(separator: ", ")
                throw location.error("unexpected word '\(key.text)'; expected one of \(list)", at: key)
            }
            guard index + 1 < tokens.endIndex else {
                throw location.error("'\(key.text)' needs a value after it", at: key)
            }
            if !repeatable.contains(key.text), result.contains(where: { $0.key.text == key.text }) {
                throw location.error("'\(key.text)' is given twice on this line", at: key)
            }
            result.append((key, tokens[index + 1]))
            index += 2
        }
        return result
    }

    private static func interface(_ tokens: [RulesToken], _ builder: inout RulesBuilder, _ location: RulesLocation) throws(ConfigError) {
        let usage = "write 'interface NAME mac MAC [mtu N] [address IP]...'"
        guard tokens.count >= 2 else {
            throw location.error("'interface' needs a name; \(usage)", at: tokens[0])
        }
        let name = tokens[1]
        guard name.text.count <= maximumInterfaceNameLength, !name.text.contains("/"), !name.text.hasPrefix("-") else {
            throw location.error("'\(name.text)' is not a usable interface name; Linux names have at most \(maximumInterfaceNameLength) characters and no '/'", at: name)
        }
        if let earlier = builder.interfaceLines[name.text] {
            throw location.error("interface \(name.text) is already declared on line \(earlier)", at: name)
        }
        let values = RulesValues(location: location)
        var mac: MACAddress?
        var mtu = 1500
        var addresses: [IPAddress] = []
        for (key, value) in try pairs(tokens[2...], allowed: ["mac", "mtu", "address"], repeatable: ["address"], location) {
            switch key.text {
            case "mac": mac = try values.mac(value)
            case "mtu": mtu = try values.number(value, in: 68...65535, what: "MTU")
            default:
                let address = try values.address(value, what: "interface")
                if addresses.contains(address) {
                    throw location.error("address \(address) is given twice for interface \(name.text)", at: value)
                }
                addresses.append(address)
            }
        }
        guard let mac else {
            throw location.error("interface \(name.text) needs its MAC address; \(usage)", at: tokens[0])
        }
        builder.interfaceLines[name.text] = location.line
        builder.addInterface(InterfaceConfig(name: name.text, mac: mac, mtu: mtu, addresses: addresses))
    }

    private static func neighbour(_ tokens: [RulesToken], _ builder: inout RulesBuilder, _ location: RulesLocation) throws(ConfigError) {
        let keyword = tokens[0].text
        let usage = "write '\(keyword) IP mac MAC [interface NAME]'"
        guard tokens.count >= 2 else {
            throw location.error("'\(keyword)' needs an IP address; \(usage)", at: tokens[0])
        }
        let values = RulesValues(location: location)
        let address = try values.address(tokens[1], what: "neighbour")
        if let earlier = builder.neighbourLines[address] {
            throw location.error("neighbour \(address) is already declared on line \(earlier)", at: tokens[1])
        }
        var mac: MACAddress?
        var interface: Int?
        for (key, value) in try pairs(tokens[2...], allowed: ["mac", "interface"], repeatable: [], location) {
            if key.text == "mac" {
                mac = try values.mac(value)
            } else {
                guard let index = builder.config.interfaces.firstIndex(where: { $0.name == value.text }) else {
                    throw location.error("interface '\(value.text)' is not declared; add an 'interface \(value.text) mac MAC' line before this one", at: value)
                }
                interface = index
            }
        }
        guard let mac else {
            throw location.error("neighbour \(address) needs its MAC address; \(usage)", at: tokens[0])
        }
        if interface == nil && builder.config.interfaces.isEmpty {
            throw location.error("neighbour \(address) needs an interface, but none is declared yet; add an 'interface NAME mac MAC' line before this one", at: tokens[0])
        }
        builder.neighbourLines[address] = location.line
        builder.addNeighbour(NeighbourConfig(address: address, mac: mac, interface: interface ?? 0))
    }
}
