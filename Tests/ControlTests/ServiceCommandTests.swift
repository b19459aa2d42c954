import Control
import Core
import Testing
import Wire

/// `-A`, `-E`, `-D`, `-C` and the service options (`-t -u -s -p -M -b`).
@Suite struct ServiceCommandTests {
    @Test func addServiceDefaultsToWlcWithoutPersistence() {
        let service = onlyService(parse("-A -t 198.18.0.10:80"))
        #expect(service == VirtualServiceConfig(key: tcp("198.18.0.10", 80), scheduler: .weightedLeastConnection))
        #expect(service.schedulerFlags == [])
        #expect(service.persistence == nil)
        #expect(service.realServers.isEmpty && service.localAddresses.isEmpty)
    }

    @Test func shortForms() {
        let service = onlyService(parse("-A -u 198.18.0.53:53 -s rr -p 600 -M 255.255.255.0 -b flag-1,flag-3"))
        #expect(service.key == udp("198.18.0.53", 53))
        #expect(service.scheduler == .roundRobin)
        #expect(service.persistence == Persistence(timeout: 600, prefixLength: 24))
        #expect(service.schedulerFlags == [.fallback, .flag3])
    }

    @Test func longForms() {
        let service = onlyService(parse(
            "--add-service --udp-service 198.18.0.53:53 --scheduler wrr --persistent 600 --netmask 255.255.0.0 --sched-flags flag-2"))
        #expect(service.key == udp("198.18.0.53", 53))
        #expect(service.scheduler == .weightedRoundRobin)
        #expect(service.persistence == Persistence(timeout: 600, prefixLength: 16))
        #expect(service.schedulerFlags == [.port])
    }

    @Test func longFormsWithEquals() {
        let service = onlyService(parse(
            "--add-service --tcp-service=198.18.0.10:80 --scheduler=lc --persistent=120 --netmask=255.255.255.128 --sched-flags=flag-1"))
        #expect(service.key == tcp("198.18.0.10", 80))
        #expect(service.scheduler == .leastConnection)
        #expect(service.persistence == Persistence(timeout: 120, prefixLength: 25))
        #expect(service.schedulerFlags == [.fallback])
    }

    @Test(arguments: SchedulerKind.allCases)
    func everySchedulerByItsIpvsadmName(kind: SchedulerKind) {
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -s \(kind.rawValue)")).scheduler == kind)
    }

    @Test func persistentWithoutValueIsThreeHundredSixtySeconds() {
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p")).persistence == Persistence(timeout: 360, prefixLength: 32))
        // The next word is a value only when it is a number.
        let service = onlyService(parse("-A -t 198.18.0.10:443 -p -s rr"))
        #expect(service.persistence == Persistence(timeout: Persistence.defaultTimeout, prefixLength: 32))
        #expect(service.scheduler == .roundRobin)
        #expect(onlyService(parse("-A -t 198.18.0.10:80 --persistent")).persistence?.timeout == 360)
    }

    @Test func netmaskDefaultsAndIPv4Masks() {
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p 60")).persistence?.prefixLength == 32)
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p 60 -M 255.255.255.255")).persistence?.prefixLength == 32)
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p 60 -M 255.255.255.0")).persistence?.prefixLength == 24)
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p 60 -M 255.240.0.0")).persistence?.prefixLength == 12)
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -p 60 -M 0.0.0.0")).persistence?.prefixLength == 0)
        // -M before -p, and -M before the service: the family is known once the line is read.
        #expect(onlyService(parse("-A -M 255.255.0.0 -p 60 -t 198.18.0.10:80")).persistence?.prefixLength == 16)
    }

    @Test func netmaskWithoutPersistenceHasNoEffect() {
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -M 255.255.255.0")).persistence == nil)
    }

    @Test func ipv6ServiceTakesPrefixLength() {
        let service = onlyService(parse("-A -t [2001:db8::10]:80 -s rr -p 300 -M 64"))
        #expect(service.key == tcp("2001:db8::10", 80))
        #expect(service.persistence == Persistence(timeout: 300, prefixLength: 64))
        #expect(onlyService(parse("-A -u [2001:db8::53]:53 -p")).persistence?.prefixLength == 128)
    }

    @Test func portZeroIsAllowedForPersistentServices() {
        #expect(onlyService(parse("-A -t 198.18.0.10 -p")).key == tcp("198.18.0.10", 0))
        #expect(onlyService(parse("-A -t 198.18.0.10:0 -p 60")).key == tcp("198.18.0.10", 0))
    }

    @Test(arguments: [
        ("http", UInt16(80)), ("https", 443), ("domain", 53), ("ssh", 22), ("smtp", 25), ("ftp", 21), ("mysql", 3306),
    ])
    func portsByServiceName(name: String, port: UInt16) {
        #expect(onlyService(parse("-A -t 198.18.0.10:\(name)")).key == tcp("198.18.0.10", port))
        #expect(onlyService(parse("-A -u [2001:db8::10]:\(name)")).key == udp("2001:db8::10", port))
    }

    @Test func schedulerFlagsByScheduler() {
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -s sh -b sh-fallback,sh-port")).schedulerFlags == [.fallback, .port])
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -b sh-port -s sh")).schedulerFlags == [.port])
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -s sh -b flag-3")).schedulerFlags == [.flag3])
        #expect(onlyService(parse("-A -t 198.18.0.10:80 -s rr --sched-flags flag-1,flag-2,flag-3")).schedulerFlags
            == [.fallback, .port, .flag3])
    }

    @Test func editServiceReplacesSettingsAndKeepsServers() {
        let config = parse(
            "-A -t 198.18.0.10:80 -s sh -b sh-port -p 600",
            "-a -t 198.18.0.10:80 -r 198.18.1.1",
            "--add-laddr -z 198.18.2.1 -t 198.18.0.10:80",
            "-E -t 198.18.0.10:80 -s rr -p 60")
        let service = onlyService(config)
        #expect(service.scheduler == .roundRobin)
        #expect(service.schedulerFlags == [])
        #expect(service.persistence == Persistence(timeout: 60, prefixLength: 32))
        #expect(service.realServers == [RealServerConfig(address: ip("198.18.1.1"), port: 80)])
        #expect(service.localAddresses == [ip("198.18.2.1")])
    }

    @Test func editServiceWithoutOptionsRestoresIpvsadmDefaults() {
        let service = onlyService(parse("-A -t 198.18.0.10:80 -s rr -p", "--edit-service --tcp-service 198.18.0.10:80"))
        #expect(service.scheduler == .weightedLeastConnection)
        #expect(service.persistence == nil)
    }

    @Test func deleteServiceKeepsTheOthersInOrder() {
        let config = parse(
            "-A -t 198.18.0.10:80", "-A -t 198.18.0.11:80", "-A -u 198.18.0.10:80",
            "-D -t 198.18.0.11:80")
        #expect(config.services.map(\.key) == [tcp("198.18.0.10", 80), udp("198.18.0.10", 80)])
        #expect(parse("-A -t 198.18.0.10:80", "--delete-service --tcp-service 198.18.0.10:80").services.isEmpty)
    }

    @Test func clearRemovesServicesOnly() {
        let config = parse(
            "interface eth0 mac 02:00:00:00:00:01", "--set 100 0 0",
            "-A -t 198.18.0.10:80", "-a -t 198.18.0.10:80 -r 198.18.1.1", "-A -u 198.18.0.10:53",
            "-C", "-A -t 198.18.0.12:80")
        #expect(config.services.map(\.key) == [tcp("198.18.0.12", 80)])
        #expect(config.interfaces.count == 1)
        #expect(config.timeouts[.established] == 100)
        #expect(parse("-A -t 198.18.0.10:80", "--clear").services.isEmpty)
    }

    @Test func tcpAndUdpServicesOnOneAddressAreDistinct() {
        let config = parse("-A -t 198.18.0.10:53", "-A -u 198.18.0.10:53")
        #expect(config.services.map(\.key) == [tcp("198.18.0.10", 53), udp("198.18.0.10", 53)])
    }
}
