import Core
import Wire

/// How the interfaces lvsd runs on (`--interface`) become the configuration's: from the
/// kernel, or from an `interface` line that overrides it.
///
/// - No line: MAC, MTU and addresses are the kernel's, and follow it while lvsd runs
///   (`followed`).
/// - A line: it wins. Its MTU and addresses are used as written (the kernel's changes to them
///   are logged, not applied); its MAC must be the kernel's, or 00:00:00:00:00:00 to take it.
///   Offline replay (`lvsd replay`) has no kernel and needs lines.
///
/// The result lists the `--interface` names first, in their order, then the lines for
/// interfaces lvsd was not started on (warned about, never opened); neighbour lines are
/// renumbered to match.
public struct DirectorInterfaces: Equatable, Sendable {
    public var config: DirectorConfig
    /// The interfaces with no line, whose values come from the kernel.
    public var followed: Set<String>

    /// At start (`running` nil), fails with a sentence naming the interface when it does not
    /// exist in this namespace, is down, is given twice, or its line's MAC is not the kernel's,
    /// and decides which interfaces follow the kernel. While running, keeps that decision; an
    /// interface that is down or gone keeps the values it ran with.
    public static func resolve(_ proposed: DirectorConfig, names: [String], kernel: KernelInterfaces,
                               running: DirectorInterfaces? = nil) throws(EngineError) -> DirectorInterfaces {
        var config = proposed
        var interfaces: [InterfaceConfig] = []
        var followed: Set<String> = []
        let known = running?.followed
        for name in names {
            guard !interfaces.contains(where: { $0.name == name }) else { throw EngineError("--interface \(name) is given twice") }
            let kernelSide: KernelInterface
            if let present = kernel[name] {
                kernelSide = present
            } else if let before = running?.config.interfaces.first(where: { $0.name == name }) {
                kernelSide = KernelInterface(name: name, index: 0, mac: before.mac, mtu: before.mtu, isUp: false, hasCarrier: false,
                                             addresses: before.addresses.map { HostInterfaces.Network(address: $0, prefixLength: $0.isIPv4 ? 32 : 128) })
            } else {
                throw EngineError("interface \(name) does not exist in this network namespace; check 'ip link' (run lvsd with 'ip netns exec NS' for a namespace)")
            }
            guard kernelSide.isUp || running != nil else {
                throw EngineError("interface \(name) is down; bring it up with 'ip link set \(name) up' and start lvsd again")
            }
            let line = proposed.interfaces.first { $0.name == name }
            if known?.contains(name) ?? (line == nil) {
                followed.insert(name)
                interfaces.append(kernelSide.interfaceConfig)
                continue
            }
            // A line, or an interface that had one at start and lost it in a reload: the line's
            // values, else the kernel's, with the MAC checked either way.
            // While running, the MAC stays the one lvsd started with (its ARP senders use it).
            let mac = running?.config.interfaces.first { $0.name == name }?.mac ?? kernelSide.mac
            var interface = line ?? kernelSide.interfaceConfig
            if interface.mac == .zero { interface.mac = mac }
            guard interface.mac == mac else {
                throw EngineError("interface \(name): the configuration says mac \(interface.mac) but \(running == nil ? "the kernel says" : "lvsd runs with") \(mac); fix the 'interface \(name)' line, write mac 00:00:00:00:00:00 to take the kernel's, or leave the line out")
            }
            interfaces.append(interface)
        }
        for line in proposed.interfaces where !names.contains(line.name) { interfaces.append(line) }
        // Neighbour lines name interfaces by their position in the file.
        config.neighbours = proposed.neighbours.map { neighbour in
            var n = neighbour
            if proposed.interfaces.indices.contains(n.interface),
               let index = interfaces.firstIndex(where: { $0.name == proposed.interfaces[n.interface].name }) {
                n.interface = index
            }
            return n
        }
        config.interfaces = interfaces
        return DirectorInterfaces(config: config, followed: followed)
    }
}
