import Core
import Wire

/// What the kernel says about one network interface: read with an rtnetlink dump at start,
/// then kept current from the kernel's notifications (`KernelInterfaces.apply`).
public struct KernelInterface: Equatable, Sendable {
    public var name: String
    public var index: Int32
    public var mac: MACAddress
    public var mtu: Int
    /// IFF_UP: the administrator brought it up (`ip link set NAME up`).
    public var isUp: Bool
    /// IFF_LOWER_UP: the link has a carrier (a veth whose peer is up).
    public var hasCarrier: Bool
    /// Its addresses with their prefixes, IPv4 and IPv6 (link-local included), in the
    /// kernel's order.
    public var addresses: [HostInterfaces.Network]

    public init(name: String, index: Int32, mac: MACAddress, mtu: Int, isUp: Bool, hasCarrier: Bool,
                addresses: [HostInterfaces.Network] = []) {
        self.name = name
        self.index = index
        self.mac = mac
        self.mtu = mtu
        self.isUp = isUp
        self.hasCarrier = hasCarrier
        self.addresses = addresses
    }

    /// The addresses the director uses for itself (DIP, TUN's outer source, the sender of ARP
    /// and neighbour solicitations): every IPv4 one and the global IPv6 ones.
    public var directorAddresses: [HostInterfaces.Network] {
        addresses.filter { $0.address.isIPv4 || !$0.address.isIPv6LinkLocal }
    }

    /// This interface as the director's configuration names it when no `interface` line does.
    public var interfaceConfig: InterfaceConfig {
        InterfaceConfig(name: name, mac: mac, mtu: mtu, addresses: directorAddresses.map(\.address))
    }
}

extension IPAddress {
    /// fe80::/10 (RFC 4291 §2.5.6).
    var isIPv6LinkLocal: Bool { !isIPv4 && high >> 54 == 0x3FA }
}

/// The kernel's interfaces of one network namespace, by name, as the rtnetlink messages
/// describe them; `apply` folds one message in and says what changed.
public struct KernelInterfaces: Equatable, Sendable {
    public private(set) var byName: [String: KernelInterface] = [:]
    private var nameOfIndex: [Int32: String] = [:]
    /// Addresses whose link message has not arrived yet (a notification can overtake a dump).
    private var pending: [Int32: [HostInterfaces.Network]] = [:]

    public init() {}

    public subscript(name: String) -> KernelInterface? { byName[name] }

    /// Folds `messages` in (a dump, or one notification's datagram) and returns what changed.
    @discardableResult
    mutating func apply(_ messages: [RouteNetlinkMessage]) -> [InterfaceChange] {
        messages.flatMap { apply($0) }
    }

    mutating func apply(_ message: RouteNetlinkMessage) -> [InterfaceChange] {
        switch message {
        case let .link(link, deleted):
            return applyLink(link, deleted: deleted)
        case let .address(address, deleted):
            let network = HostInterfaces.Network(address: address.address, prefixLength: address.prefixLength)
            guard let name = nameOfIndex[address.index], var interface = byName[name] else {
                var list = pending[address.index] ?? []
                list.removeAll { $0 == network }
                if !deleted { list.append(network) }
                pending[address.index] = list
                return []
            }
            let present = interface.addresses.contains(network)
            if deleted {
                guard present else { return [] }
                interface.addresses.removeAll { $0 == network }
                byName[name] = interface
                return [.addressRemoved(interface: name, network)]
            }
            guard !present else { return [] }
            interface.addresses.append(network)
            byName[name] = interface
            return [.addressAdded(interface: name, network)]
        case .done, .error, .other:
            return []
        }
    }

    private mutating func applyLink(_ link: RouteNetlinkMessage.LinkMessage, deleted: Bool) -> [InterfaceChange] {
        let known = nameOfIndex[link.index]
        if deleted {
            guard let known else { return [] }
            byName[known] = nil
            nameOfIndex[link.index] = nil
            return [.vanished(interface: known)]
        }
        let name = link.name ?? known
        guard let name else { return [] }
        var changes: [InterfaceChange] = []
        if let known, known != name {
            // Renamed: the old name is gone for lvsd, which names interfaces.
            byName[known] = nil
            changes.append(.vanished(interface: known))
        }
        guard var interface = byName[name] else {
            var fresh = KernelInterface(name: name, index: link.index, mac: link.mac ?? .zero, mtu: link.mtu ?? 1500,
                                        isUp: link.isUp, hasCarrier: link.hasCarrier)
            fresh.addresses = pending.removeValue(forKey: link.index) ?? []
            byName[name] = fresh
            nameOfIndex[link.index] = name
            return changes
        }
        if let mtu = link.mtu, mtu != interface.mtu {
            changes.append(.mtu(interface: name, from: interface.mtu, to: mtu))
            interface.mtu = mtu
        }
        if let mac = link.mac, mac != interface.mac {
            changes.append(.mac(interface: name, from: interface.mac, to: mac))
            interface.mac = mac
        }
        if link.isUp != interface.isUp {
            changes.append(.administrativeState(interface: name, up: link.isUp))
            interface.isUp = link.isUp
        }
        if link.hasCarrier != interface.hasCarrier {
            changes.append(.carrier(interface: name, up: link.hasCarrier))
            interface.hasCarrier = link.hasCarrier
        }
        byName[name] = interface
        return changes
    }

    /// What differs between `old` and `new` for the interface `name` (after lost notifications,
    /// a fresh dump is compared with what lvsd knew).
    static func changes(of name: String, from old: KernelInterface?, to new: KernelInterface?) -> [InterfaceChange] {
        guard let new else { return old == nil ? [] : [.vanished(interface: name)] }
        guard let old else { return new.addresses.map { .addressAdded(interface: name, $0) } }
        var changes: [InterfaceChange] = []
        if old.mtu != new.mtu { changes.append(.mtu(interface: name, from: old.mtu, to: new.mtu)) }
        if old.mac != new.mac { changes.append(.mac(interface: name, from: old.mac, to: new.mac)) }
        if old.isUp != new.isUp { changes.append(.administrativeState(interface: name, up: new.isUp)) }
        if old.hasCarrier != new.hasCarrier { changes.append(.carrier(interface: name, up: new.hasCarrier)) }
        for gone in old.addresses where !new.addresses.contains(gone) { changes.append(.addressRemoved(interface: name, gone)) }
        for added in new.addresses where !old.addresses.contains(added) { changes.append(.addressAdded(interface: name, added)) }
        return changes
    }

    /// The namespace's interfaces now, read with one rtnetlink dump of links and addresses.
    public static func read() throws -> KernelInterfaces {
        var table = KernelInterfaces()
        table.apply(try RouteNetlinkSocket().dump())
        return table
    }
}
