import Wire

/// A change of an interface lvsd runs on, as lvsd logs it and applies it.
public enum InterfaceChange: Equatable, Sendable, CustomStringConvertible {
    case addressAdded(interface: String, HostInterfaces.Network)
    case addressRemoved(interface: String, HostInterfaces.Network)
    case mtu(interface: String, from: Int, to: Int)
    case mac(interface: String, from: MACAddress, to: MACAddress)
    case administrativeState(interface: String, up: Bool)
    case carrier(interface: String, up: Bool)
    /// The interface left the namespace (deleted, or moved away).
    case vanished(interface: String)

    public var description: String {
        switch self {
        case let .addressAdded(name, network): "\(name): address \(network) added"
        case let .addressRemoved(name, network): "\(name): address \(network) removed"
        case let .mtu(name, from, to): "\(name): MTU \(from) → \(to)"
        case let .mac(name, from, to): "\(name): MAC \(from) → \(to)"
        case let .administrativeState(name, up): "\(name): \(up ? "up" : "down: frames sent on it are lost until it is up")"
        case let .carrier(name, up): "\(name): carrier \(up ? "up" : "lost")"
        case let .vanished(name): "\(name): the interface is gone from this network namespace; lvsd cannot send on it"
        }
    }
}

extension InterfaceChange {
    /// The interface the change is about.
    public var interfaceName: String {
        switch self {
        case let .addressAdded(name, _), let .addressRemoved(name, _), let .mtu(name, _, _), let .mac(name, _, _),
             let .administrativeState(name, _), let .carrier(name, _), let .vanished(name):
            name
        }
    }
}
