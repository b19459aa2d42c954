import Core
import Testing
import Wire

/// The two ways a connection table entry starts (`Connection.init(_:client:...)` for every
/// connection, `Connection.init(template:...)` for persistence templates): the fields each
/// site used to fill by hand, and IPVS's starting flags (ip_vs_conn_new).
@Suite struct ConnectionInitialiserTests {
    static let client = IPAddress("198.18.0.100")!, vip = IPAddress("198.18.0.10")!, rs = IPAddress("198.18.1.11")!

    @Test(arguments: [ForwardingMethod.directRouting, .nat, .fullNAT, .tunnel])
    func aNewConnectionStartsInactiveAndBypassesOnlyForDRAndTUN(_ method: ForwardingMethod) {
        let mac = MACAddress("02:00:00:00:c0:01")!
        let c = Connection(.tcp, client: Self.client, clientPort: 40000, virtual: Self.vip, virtualPort: 80,
                           destination: Self.rs, destinationPort: 8080, method: method, realServer: 3, state: .synRecv,
                           timeout: 60, now: 5_000_000_000, clientMAC: mac, ingressInterface: 2)
        #expect(c.proto == .tcp && c.clientAddress == Self.client && c.clientPort == 40000)
        #expect(c.virtualAddress == Self.vip && c.virtualPort == 80)
        #expect(c.destinationAddress == Self.rs && c.destinationPort == 8080)
        #expect(c.method == method && c.realServer == 3 && c.state == .synRecv)
        #expect(c.timeout == 60 && c.expires == 65_000_000_000)
        #expect(c.clientMAC == mac && c.ingressInterface == 2)
        #expect(c.template == 0 && c.controlled == 0 && c.localPort == 0)
        let expected: ConnectionFlags = method.repliesTraverseDirector ? [.inactive] : [.inactive, .noOutput]
        #expect(c.flags == expected)
    }

    @Test func aSyncedActiveConnectionIsNotInactive() {
        let c = Connection(.udp, client: Self.client, clientPort: 5353, virtual: Self.vip, virtualPort: 53,
                           destination: Self.rs, destinationPort: 53, method: .nat, realServer: 0, state: .udp,
                           timeout: 300, now: 0, inactive: false)
        #expect(c.flags.isEmpty)
        #expect(c.expires == 300_000_000_000)
    }

    @Test func aTemplateHasNoClientPortAndTheTemplateFlag() {
        let t = Connection(template: .tcp, client: IPAddress("198.18.0.0")!, virtual: Self.vip, virtualPort: 0,
                           destination: Self.rs, destinationPort: 80, method: .directRouting, realServer: 1,
                           timeout: 360, now: 1)
        #expect(t.flags == [.template])
        #expect(t.clientPort == 0 && t.virtualPort == 0 && t.state == ConnectionState.none)
        #expect(t.destinationAddress == Self.rs && t.destinationPort == 80 && t.realServer == 1)
        #expect(t.timeout == 360 && t.expires == 1 + 360_000_000_000)
    }
}
