import Core
import PacketBuilder
import Testing
import Wire

/// FTP data connections under their control connection (IPVS's `cp->control`,
/// ip_vs_control_add / ip_vs_control_del and the `n_control` check of ip_vs_conn_expire):
/// while a transfer runs the control connection is re-armed instead of expired, so the `QUIT`
/// after a transfer longer than its idle timeout still finds it; once the data connections
/// are gone it expires on its own timer; a control slot that changed hands is never held.
@Suite struct FTPControlLinkTests {
    typealias T = FTPDirectorTests
    /// The ESTABLISHED timeout (`lvsadm --set 5 0 0`), far shorter than the transfers below.
    static let established: UInt32 = 5

    static func config(_ method: ForwardingMethod) -> DirectorConfig {
        var config = T.config(method)
        config.timeouts.set(tcp: established, tcpFin: 0, udp: 0)
        return config
    }

    func control(_ h: Harness) -> Connection? {
        h.director.connections().first { $0.virtualPort == 21 && !$0.flags.contains(.template) }
    }

    /// Opens a data connection, passive (229, the client connects) or active (PORT, the real
    /// server connects from port 20), and carries `seconds` of transfer over it, a segment
    /// from the real server every 2 s.
    func transfer(_ h: Harness, _ method: ForwardingMethod, side: (String, UInt16), passive: Bool, seconds: Int) {
        let s1 = T.serverISN &+ 1, c1 = T.clientISN + 1
        var serverSide: (String, UInt16)
        var dataPort: UInt16
        if passive {
            let reply = "229 Entering Extended Passive Mode (|||50001|)\r\n"
            _ = h.run(T.fromServer([.ack, .psh], seq: s1, ack: c1, to: side, reply), interface: 1)
            #expect(h.run(T.fromClient(.syn, seq: 100, port: 40001, to: 50001)).0 == .forward(interface: 1))
            let data = h.director.connections().first { $0.virtualPort == 50001 }
            serverSide = method == .fullNAT ? (T.lip, data?.localPort ?? 0) : (T.client, 40001)
            dataPort = 50001
            #expect(h.run(T.fromServer([.syn, .ack], seq: 700, ack: 101, to: serverSide, from: 50001), interface: 1).0
                == .forward(interface: 0))
            #expect(h.run(T.fromClient(.ack, seq: 101, ack: 701, port: 40001, to: 50001)).0 == .forward(interface: 1))
        } else {
            // NAT: the PORT line is left as sent and the real server connects from port 20.
            _ = h.run(T.fromClient([.ack, .psh], seq: c1, ack: s1, "PORT 198,18,0,100,156,65\r\n"))
            serverSide = (T.client, 40001)
            dataPort = 20
            #expect(h.run(T.fromServer(.syn, seq: 700, ack: 0, to: serverSide, from: 20), interface: 1).0 == .forward(interface: 0))
            #expect(h.run(T.fromClient([.syn, .ack], seq: 100, ack: 701, port: 40001, to: 20)).0 == .forward(interface: 1))
            #expect(h.run(T.fromServer(.ack, seq: 701, ack: 101, to: serverSide, from: 20), interface: 1).0 == .forward(interface: 0))
        }
        #expect(control(h)?.controlled == 1)
        var seq: UInt32 = 701
        for _ in 0..<(seconds / 2) {
            h.advance(seconds: 2)
            let (v, _) = h.run(T.fromServer([.ack, .psh], seq: seq, ack: 101, to: serverSide, from: dataPort, "data"),
                               interface: 1)
            #expect(v == .forward(interface: 0))
            seq &+= 4
        }
    }

    @Test(arguments: [(ForwardingMethod.nat, false), (.nat, true), (.fullNAT, true)])
    func aTransferLongerThanTheIdleTimeoutKeepsItsControlConnection(_ method: ForwardingMethod, _ passive: Bool) {
        let h = Harness(Self.config(method))
        let side = FTPDirectorTests().open(h, method)
        transfer(h, method, side: side, passive: passive, seconds: 30)
        // Six idle timeouts later the control connection is still there, and so is its QUIT's way.
        #expect(control(h) != nil)
        let quit = T.fromClient([.ack, .psh], seq: T.clientISN + 1 + (passive ? 0 : 26), ack: T.serverISN &+ 1, "QUIT\r\n")
        #expect(h.run(quit).0 == .forward(interface: 1))
        // Once the data connection expired the control connection is released, and expires on
        // its own timer after it.
        h.advance(seconds: 3600)
        #expect(h.director.connections().allSatisfy { $0.virtualPort == 21 })
        #expect((control(h)?.controlled ?? 0) == 0)
        h.advance(seconds: Double(Self.established) + 1)
        #expect(h.director.connections().isEmpty)
    }

    /// The same idle control connection without a transfer expires: the QUIT after the idle
    /// timeout finds nothing (what every long transfer met before the link).
    @Test func anIdleControlConnectionWithoutDataConnectionsExpires() {
        let h = Harness(Self.config(.nat))
        _ = FTPDirectorTests().open(h, .nat)
        h.advance(seconds: 30)
        #expect(control(h) == nil)
        let quit = T.fromClient([.ack, .psh], seq: T.clientISN + 1, ack: T.serverISN &+ 1, "QUIT\r\n")
        #expect(h.run(quit).0 == .drop(.noConnection))
    }

    /// A passive expectation outlives its control connection: when the control's handle holds
    /// another connection by the time the data connection opens, that connection is not held.
    @Test func aControlSlotThatChangedHandsIsNotHeld() {
        let h = Harness(Self.config(.nat))
        let side = FTPDirectorTests().open(h, .nat)
        let reply = "229 Entering Extended Passive Mode (|||50001|)\r\n"
        _ = h.run(T.fromServer([.ack, .psh], seq: T.serverISN &+ 1, ack: T.clientISN + 1, to: side, reply), interface: 1)
        #expect(h.director.ftpExpectationCount == 1)
        // The control connection expires; the same client comes back from another port and
        // takes the freed slot (the free list is last in, first out).
        h.advance(seconds: 10)
        #expect(h.director.connections().isEmpty)
        _ = h.run(T.fromClient(.syn, seq: 1, port: 40099))
        #expect(control(h)?.clientPort == 40099)
        // The expected data connection opens, tied to nothing.
        #expect(h.run(T.fromClient(.syn, seq: 100, port: 40001, to: 50001)).0 == .forward(interface: 1))
        #expect(h.director.connections().count == 2)
        #expect(control(h)?.controlled == 0)
        // The new connection expires on its own (SYN_RECV, 60 s) while the data connection is kept alive.
        for _ in 0..<40 {
            h.advance(seconds: 2)
            _ = h.run(T.fromClient(.ack, seq: 101, ack: 1, port: 40001, to: 50001))
        }
        #expect(control(h) == nil)
        #expect(h.director.connections().count == 1)
    }
}
