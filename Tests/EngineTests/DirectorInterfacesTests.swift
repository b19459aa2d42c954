import Core
@testable import Engine
import Testing
import Wire

/// How `--interface` names and optional `interface` lines become the configuration's
/// interfaces, over the kernel's table from captured dumps (`RouteNetlinkFixtures`).
@Suite struct DirectorInterfacesTests {
    static let lineMAC = RouteNetlinkTests.ifx1MAC

    @Test("no lines: MAC, MTU and the director's addresses come from the kernel, and follow it")
    func fromKernel() throws {
        let kernel = try RouteNetlinkTests.dumped()
        let resolved = try DirectorInterfaces.resolve(DirectorConfig(), names: ["ifx0", "ifx1"], kernel: kernel)
        #expect(resolved.followed == ["ifx0", "ifx1"])
        #expect(resolved.config.interfaces == [
            InterfaceConfig(name: "ifx0", mac: RouteNetlinkTests.ifx0MAC, mtu: 1500, addresses: [IPAddress("198.18.5.1")!, IPAddress("2001:db8:5::1")!]),
            InterfaceConfig(name: "ifx1", mac: RouteNetlinkTests.ifx1MAC, mtu: 1500, addresses: []),
        ])
    }

    @Test("a line wins: its MTU and addresses as written, mac 00:00:00:00:00:00 takes the kernel's; neighbours renumbered")
    func lineWins() throws {
        let kernel = try RouteNetlinkTests.dumped()
        var config = DirectorConfig(interfaces: [
            InterfaceConfig(name: "ifx1", mac: .zero, mtu: 9000, addresses: [IPAddress("198.18.9.1")!]),
            InterfaceConfig(name: "spare", mac: MACAddress(2, 0, 0, 0, 0, 9)),
        ])
        config.neighbours = [NeighbourConfig(address: IPAddress("198.18.9.2")!, mac: MACAddress(2, 0, 0, 0, 9, 2), interface: 0)]
        let resolved = try DirectorInterfaces.resolve(config, names: ["ifx0", "ifx1"], kernel: kernel)
        #expect(resolved.followed == ["ifx0"])
        #expect(resolved.config.interfaces.map(\.name) == ["ifx0", "ifx1", "spare"])
        #expect(resolved.config.interfaces[1] == InterfaceConfig(name: "ifx1", mac: Self.lineMAC, mtu: 9000, addresses: [IPAddress("198.18.9.1")!]))
        #expect(resolved.config.neighbours.map(\.interface) == [1], "the neighbour of ifx1 follows it to position 1")
    }

    @Test("sentences that name the interface: missing, down, given twice, a MAC that is not the kernel's")
    func refusals() throws {
        let kernel = try RouteNetlinkTests.dumped()
        func refusal(_ config: DirectorConfig, _ names: [String]) -> String {
            do {
                _ = try DirectorInterfaces.resolve(config, names: names, kernel: kernel)
                return ""
            } catch { return error.description }
        }
        #expect(refusal(DirectorConfig(), ["d9"]).hasPrefix("interface d9 does not exist in this network namespace"))
        #expect(refusal(DirectorConfig(), ["lo"]) == "interface lo is down; bring it up with 'ip link set lo up' and start lvsd again")
        #expect(refusal(DirectorConfig(), ["ifx0", "ifx0"]) == "--interface ifx0 is given twice")
        let wrong = DirectorConfig(interfaces: [InterfaceConfig(name: "ifx0", mac: MACAddress(2, 0, 0, 0, 0, 0x77))])
        #expect(refusal(wrong, ["ifx0"]).hasPrefix("interface ifx0: the configuration says mac 02:00:00:00:00:77 but the kernel says 02:00:00:00:05:01"))
    }

    @Test("while running: a followed interface takes the kernel's new values even from a carried-forward config; one gone keeps its last")
    func running() throws {
        let before = try RouteNetlinkTests.dumped()
        let start = try DirectorInterfaces.resolve(DirectorConfig(), names: ["ifx0", "ifx1"], kernel: before)
        var after = before
        after.apply(try RouteNetlinkTests.parseAll(RouteNetlinkFixtures.addressAdded + RouteNetlinkFixtures.mtuChanged))
        let next = try DirectorInterfaces.resolve(start.config, names: ["ifx0", "ifx1"], kernel: after, running: start)
        #expect(next.config.interfaces[0].mtu == 1400)
        #expect(next.config.interfaces[0].addresses.contains(IPAddress("198.18.5.20")!))
        #expect(next.followed == start.followed)
        // Down is no refusal while running: lvsadm edits must still go through.
        after.apply(try RouteNetlinkTests.parseAll(RouteNetlinkFixtures.linkDown))
        #expect(throws: Never.self) { try DirectorInterfaces.resolve(start.config, names: ["ifx0", "ifx1"], kernel: after, running: next) }
        let gone = try DirectorInterfaces.resolve(start.config, names: ["ifx0", "ifx1"], kernel: KernelInterfaces(), running: next)
        #expect(gone.config.interfaces == next.config.interfaces)
    }
}
