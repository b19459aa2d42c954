import Core
import Wire

/// What a checker probes: one real server of one virtual service, and where the probe really
/// goes (keepalived's `conn_opts_t`, check_api.c).
///
/// The real server's identity is ipvsadm's (service, RIP:rport), the same key
/// `Director.reconfigure` matches servers by. By default a probe connects to RIP:rport; the
/// checker block's `connect_ip` / `connect_port` send it elsewhere (a management port, an
/// address behind the server), and `bindto` / `bind_port` / `bind_if` choose the source. They
/// never change which real server the result applies to.
public struct CheckTarget: Hashable, Sendable, CustomStringConvertible {
    /// The virtual service (protocol, VIP, vport).
    public var service: ServiceKey
    /// RIP:rport as configured.
    public var realServer: Endpoint
    /// `connect_ip`: probe this address instead of the RIP.
    public var connectAddress: IPAddress?
    /// `connect_port`: probe this port instead of rport.
    public var connectPort: UInt16?
    /// `bindto`: the probe's source address.
    public var bindAddress: IPAddress?
    /// `bind_port`: the probe's source port (0 or nil: any).
    public var bindPort: UInt16?
    /// `bind_if`: SO_BINDTODEVICE (needed for IPv6 link-local destinations).
    public var bindInterface: String?

    public init(service: ServiceKey, realServer: Endpoint, connectAddress: IPAddress? = nil, connectPort: UInt16? = nil,
                bindAddress: IPAddress? = nil, bindPort: UInt16? = nil, bindInterface: String? = nil) {
        self.service = service
        self.realServer = realServer
        self.connectAddress = connectAddress
        self.connectPort = connectPort
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.bindInterface = bindInterface
    }

    /// Where probes go: connect_ip:connect_port, each defaulting to the real server's.
    public var destination: Endpoint {
        Endpoint(connectAddress ?? realServer.address, connectPort ?? realServer.port)
    }

    /// The probe's source, when `bindto` or `bind_port` is set. A bind_port alone binds the
    /// wildcard address of the destination's family.
    public var source: Endpoint? {
        if bindAddress == nil && (bindPort ?? 0) == 0 { return nil }
        let wildcard = destination.address.isIPv4 ? IPAddress(ipv4: 0) : IPAddress.zero
        return Endpoint(bindAddress ?? wildcard, bindPort ?? 0)
    }

    /// Problems keepalived reports at configuration time (check_api.c co_ip_handler,
    /// co_srcip_handler, check_conn_opts), as sentences; empty when the target is usable.
    public var problems: [String] {
        var out: [String] = []
        if let bind = bindAddress, bind.isIPv4 != destination.address.isIPv4 {
            out.append("bindto address \(bind) does not match the address family of the destination \(destination.address)")
        }
        if !destination.address.isIPv4, destination.address.high >> 54 == 0x3FA, (bindInterface ?? "").isEmpty {
            out.append("the link-local destination \(destination.address) needs bind_if")
        }
        if let name = bindInterface, name.utf8.count > 15 {
            out.append("bind_if \(name) is longer than 15 characters")
        }
        return out
    }

    /// `198.18.1.12:80`, with ` via 198.18.9.9:8080` when connect_ip/connect_port redirect the probe.
    public var description: String {
        destination == realServer ? "\(realServer)" : "\(realServer) via \(destination)"
    }
}
