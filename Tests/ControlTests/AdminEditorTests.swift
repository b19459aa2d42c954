import Control
import Core
import Testing
import Wire

/// `AdminEditor`: each command's effect on a configuration, the kernel's and libipvs's
/// refusals (and that a refusal changes nothing), and all-or-nothing batches.
@Suite struct AdminEditorTests {
    static let key = tcp("198.18.0.10", 80)
    static let base = parse(
        "-A -t 198.18.0.10:80 -s rr",
        "-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2",
        "-a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m",
        "-A -u 198.18.0.10:53 -p 60")

    static func apply(_ command: AdminCommand, to config: DirectorConfig = base,
                      sourceLocation: SourceLocation = #_sourceLocation) -> DirectorConfig {
        do {
            return try AdminEditor.apply(command, to: config)
        } catch {
            Issue.record("\(command): \(error)", sourceLocation: sourceLocation)
            return config
        }
    }

    static func refusal(_ command: AdminCommand, to config: DirectorConfig = base,
                        sourceLocation: SourceLocation = #_sourceLocation) -> AdminError? {
        do {
            _ = try AdminEditor.apply(command, to: config)
            Issue.record("\(command) was accepted", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    static func nat(_ address: String, _ port: UInt16, weight: Int32 = 1) -> RealServerSettings {
        RealServerSettings(address: ip(address), port: port, method: .nat, weight: weight)
    }

    // MARK: Services

    @Test func addServiceAppendsWithItsSettings() {
        let config = Self.apply(.addService(ServiceSettings(key: tcp("198.18.0.11", 443), scheduler: "sh", flags: [.port],
                                                            persistence: 600, prefixLength: 24)))
        #expect(config.services.count == 3)
        #expect(config.services[2] == VirtualServiceConfig(key: tcp("198.18.0.11", 443), scheduler: .sourceHashing, schedulerFlags: [.port],
                                                           persistence: Persistence(timeout: 600, prefixLength: 24)))
        // Defaults: wlc, no persistence; persistence without -M covers the whole address.
        let plain = Self.apply(.addService(ServiceSettings(key: tcp("198.18.0.12", 80))))
        #expect(plain.services[2].scheduler == .weightedLeastConnection)
        #expect(plain.services[2].persistence == nil)
        let v6 = Self.apply(.addService(ServiceSettings(key: ServiceKey(.tcp, ip("2001:db8::10"), 80), persistence: 360)))
        #expect(v6.services[2].persistence == Persistence(timeout: 360, prefixLength: 128))
    }

    @Test func editServiceReplacesSettingsAndKeepsServers() {
        let edited = Self.apply(.editService(ServiceSettings(key: Self.key, scheduler: "wrr", persistence: 30)))
        #expect(edited.services[0].scheduler == .weightedRoundRobin)
        #expect(edited.services[0].persistence == Persistence(timeout: 30, prefixLength: 32))
        #expect(edited.services[0].realServers == Self.base.services[0].realServers)
        // -E without -p ends persistence, without -s goes back to wlc.
        let reset = Self.apply(.editService(ServiceSettings(key: udp("198.18.0.10", 53), persistence: nil)), to: edited)
        #expect(reset.services[1].persistence == nil)
        #expect(reset.services[1].scheduler == .weightedLeastConnection)
    }

    @Test func deleteServiceAndClear() {
        let deleted = Self.apply(.deleteService(Self.key))
        #expect(deleted.services.map(\.key) == [udp("198.18.0.10", 53)])
        var withInterfaces = Self.base
        withInterfaces.interfaces = [InterfaceConfig(name: "eth0", mac: mac("02:00:00:00:00:01"))]
        withInterfaces.timeouts.set(tcp: 60, tcpFin: 0, udp: 0)
        let cleared = Self.apply(.clear, to: withInterfaces)
        #expect(cleared.services.isEmpty)
        #expect(cleared.interfaces == withInterfaces.interfaces)
        #expect(cleared.timeouts == withInterfaces.timeouts)
    }

    // MARK: Real servers

    @Test func addEditDeleteServer() {
        let added = Self.apply(.addServer(Self.key, Self.nat("198.18.1.13", 8080, weight: 3)))
        #expect(added.services[0].realServers.last == RealServerConfig(address: ip("198.18.1.13"), port: 8080, weight: 3, method: .nat))
        let edited = Self.apply(.editServer(Self.key, RealServerSettings(address: ip("198.18.1.13"), port: 8080, method: .nat, weight: 0,
                                                                         upperThreshold: 10, lowerThreshold: 5)), to: added)
        #expect(edited.services[0].realServers[2] == RealServerConfig(address: ip("198.18.1.13"), port: 8080, weight: 0, method: .nat,
                                                                      upperThreshold: 10, lowerThreshold: 5))
        let deleted = Self.apply(.deleteServer(Self.key, address: ip("198.18.1.11"), port: 8080), to: edited)
        #expect(deleted.services[0].realServers.map(\.endpoint.description) == ["198.18.1.12:8080", "198.18.1.13:8080"])
    }

    /// DR and TUN servers take the service's port, whatever was asked.
    @Test func directRoutingAndTunnelTakeTheServicePort() {
        let dr = Self.apply(.addServer(Self.key, RealServerSettings(address: ip("198.18.1.21"), port: 8080, method: .directRouting)))
        #expect(dr.services[0].realServers.last?.port == 80)
        let tun = Self.apply(.addServer(Self.key, RealServerSettings(address: ip("2001:db8::21"), port: 9, method: .tunnel)))
        #expect(tun.services[0].realServers.last?.endpoint == Endpoint(ip("2001:db8::21"), 80))
    }

    // MARK: Timeouts, zero, local addresses

    @Test func setTimeoutsKeepsZeroes() {
        let set = Self.apply(.setTimeouts(tcp: 7200, tcpFin: 0, udp: 30))
        #expect(set.timeouts.tcpTcpFinUdp == (7200, 120, 30))
        #expect(set.timeouts[.synSent] == TimeoutTable.ipvsDefaults[.synSent])
    }

    @Test func zeroChangesNoConfiguration() {
        #expect(Self.apply(.zero(nil)) == Self.base)
        #expect(Self.apply(.zero(Self.key)) == Self.base)
    }

    @Test func localAddresses() {
        let added = Self.apply(.addLocalAddress(Self.key, ip("198.18.2.1")))
        let twice = Self.apply(.addLocalAddress(Self.key, ip("198.18.2.2")), to: added)
        #expect(twice.services[0].localAddresses == [ip("198.18.2.1"), ip("198.18.2.2")])
        let removed = Self.apply(.deleteLocalAddress(Self.key, ip("198.18.2.1")), to: twice)
        #expect(removed.services[0].localAddresses == [ip("198.18.2.2")])
    }

    // MARK: Refusals

    struct Refusal: Sendable, CustomStringConvertible {
        var command: AdminCommand
        var message: String
        var exitCode: Int32 = 255
        var description: String { message }
    }

    static let missing = tcp("198.18.0.99", 80)

    static let refusals: [Refusal] = [
        Refusal(command: .addService(ServiceSettings(key: key)), message: "Service already exists"),
        Refusal(command: .addService(ServiceSettings(key: tcp("198.18.0.11", 80), scheduler: "xyz")),
                message: "Scheduler or persistence engine not found"),
        Refusal(command: .editService(ServiceSettings(key: key, scheduler: "xyz")), message: "Scheduler or persistence engine not found"),
        Refusal(command: .addService(ServiceSettings(key: tcp("198.18.0.11", 0))), message: "Zero port specified for non-persistent service", exitCode: 2),
        Refusal(command: .editService(ServiceSettings(key: missing)), message: "No such service"),
        Refusal(command: .deleteService(missing), message: "No such service"),
        Refusal(command: .zero(missing), message: "No such service"),
        Refusal(command: .addServer(missing, nat("198.18.1.11", 8080)), message: "Service not defined"),
        Refusal(command: .editServer(missing, nat("198.18.1.11", 8080)), message: "Service not defined"),
        Refusal(command: .deleteServer(missing, address: ip("198.18.1.11"), port: 8080), message: "Service not defined"),
        Refusal(command: .addServer(key, nat("198.18.1.11", 8080)), message: "Destination already exists"),
        Refusal(command: .editServer(key, nat("198.18.1.99", 8080)), message: "No such destination"),
        Refusal(command: .deleteServer(key, address: ip("198.18.1.11"), port: 80), message: "No such destination"),
        // -e with -g moves a NAT server's port to the service's: that server does not exist.
        Refusal(command: .editServer(key, RealServerSettings(address: ip("198.18.1.11"), port: 8080)), message: "No such destination"),
        Refusal(command: .addServer(key, RealServerSettings(address: ip("198.18.1.13"), port: 80, method: .nat, upperThreshold: 5, lowerThreshold: 6)),
                message: "Numerical result out of range"),
        Refusal(command: .addServer(key, RealServerSettings(address: ip("198.18.1.13"), port: 80, weight: -1)),
                message: "Numerical result out of range"),
        Refusal(command: .addServer(key, nat("2001:db8::1", 80)), message: "Different address family is allowed only for tunneling servers", exitCode: 2),
        Refusal(command: .addServer(key, nat("224.0.0.1", 80)), message: "Invalid operation.  Possibly wrong module version, address not unicast, ..."),
        Refusal(command: .addServer(key, nat("0.0.0.0", 80)), message: "Invalid operation.  Possibly wrong module version, address not unicast, ..."),
        Refusal(command: .addServer(key, nat("255.255.255.255", 80)), message: "Invalid operation.  Possibly wrong module version, address not unicast, ..."),
        Refusal(command: .addLocalAddress(missing, ip("198.18.2.1")), message: "Service not defined"),
        Refusal(command: .addLocalAddress(key, ip("ff02::1")), message: "Invalid operation.  Possibly wrong module version, address not unicast, ..."),
        Refusal(command: .deleteLocalAddress(key, ip("198.18.2.1")), message: "No such Local address"),
        Refusal(command: .deleteLocalAddress(missing, ip("198.18.2.1")), message: "Service not defined"),
        Refusal(command: .setTimeouts(tcp: 2_678_401, tcpFin: 0, udp: 0), message: "invalid timeout value `2678401' specified", exitCode: 2),
    ]

    @Test(arguments: refusals)
    func refusedInLibipvsWords(refusal: Refusal) {
        guard let error = Self.refusal(refusal.command) else { return }
        #expect(error.message == refusal.message)
        #expect(error.exitCode == refusal.exitCode)
    }

    @Test func localAddressTwiceIsRefused() {
        let added = Self.apply(.addLocalAddress(Self.key, ip("198.18.2.1")))
        #expect(Self.refusal(.addLocalAddress(Self.key, ip("198.18.2.1")), to: added)?.message == "Local address already exists")
    }

    @Test func refusalDetailsNameTheObject() {
        #expect(Self.refusal(.addService(ServiceSettings(key: Self.key)))?.detail == "service TCP 198.18.0.10:80 already exists")
        #expect(Self.refusal(.deleteServer(Self.key, address: ip("198.18.1.9"), port: 80))?.detail
            == "real server 198.18.1.9:80 does not exist in service TCP 198.18.0.10:80")
        #expect(Self.refusal(.addService(ServiceSettings(key: tcp("198.18.0.11", 80), scheduler: "xyz")))?.detail?
            .hasPrefix("unknown scheduler 'xyz' (known: rr, wrr, lc, wlc") == true)
    }

    // MARK: Batches

    @Test func batchAppliesInOrder() throws {
        let config = try AdminEditor.apply([
            .clear,
            .addService(ServiceSettings(key: Self.key, scheduler: "rr")),
            .addServer(Self.key, Self.nat("198.18.1.11", 8080)),
            .editServer(Self.key, Self.nat("198.18.1.11", 8080, weight: 4)),
            .setTimeouts(tcp: 60, tcpFin: 0, udp: 0),
        ], to: Self.base)
        #expect(config.services.count == 1)
        #expect(config.services[0].realServers == [RealServerConfig(address: ip("198.18.1.11"), port: 8080, weight: 4, method: .nat)])
        #expect(config.timeouts[.established] == 60)
    }

    /// A failing command leaves nothing of the batch behind and names its position.
    @Test func batchIsAllOrNothing() {
        let batch: [AdminCommand] = [
            .deleteService(udp("198.18.0.10", 53)),
            .addServer(Self.key, Self.nat("198.18.1.13", 8080)),
            .addServer(Self.key, Self.nat("198.18.1.13", 8080)),
            .clear,
        ]
        var caught: AdminError?
        var result = Self.base
        do {
            result = try AdminEditor.apply(batch, to: Self.base)
        } catch {
            caught = error
        }
        #expect(caught?.message == "Destination already exists")
        #expect(caught?.commandIndex == 2)
        #expect(result == Self.base)
    }

    /// The rules-file parser applies lines with the same editor, reporting at the line's words.
    @Test func rulesFilesShareTheSemantics() {
        let error = parseError(["-A -t 198.18.0.10:80", "-a -t 198.18.0.10:80 -r 224.0.0.1 -m"])
        #expect(error?.message == "real server 224.0.0.1 is not a unicast address")
        #expect(error?.line == 2)
        #expect(error?.column == 25)
    }
}
