import Control
import Core

/// lvsd's side of the control socket without sockets or workers: an `AdminResponder` over a
/// real `Director` (small table) that each accepted configuration replaces, as the engine's
/// reconfiguration does. Shared by the lvsadm and control-message targets.
public final class AdminHarness {
    /// NAT, DR, TUN and FullNAT services over IPv4 and IPv6, with persistence and thresholds.
    public static let rules = """
        interface eth0 mac 02:00:00:00:00:0a address 198.18.0.2 address 2001:db8::2
        interface eth1 mac 02:00:00:00:01:0a address 198.18.1.1 address 2001:db8:1::1
        neighbour 198.18.1.11 mac 02:00:00:00:01:0b interface eth1
        neighbour 2001:db8:1::11 mac 02:00:00:00:01:0b interface eth1
        --set 900 60 120
        -A -t 198.18.0.10:80 -s rr
        -a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 1 -x 1000 -y 800
        -a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 3
        -A -u 198.18.0.10:53 -s sh -p 60 -M 255.255.255.0 -b sh-fallback,sh-port
        -a -u 198.18.0.10:53 -r 198.18.1.11:53 -g -w 1
        -A -t 198.18.0.11:443 -s wlc -p 360
        -a -t 198.18.0.11:443 -r 198.18.1.21:443 -i -w 0
        -A -t [2001:db8::10]:80 -s mh -b mh-port
        -a -t [2001:db8::10]:80 -r [2001:db8:1::11]:8080 -b -w 2
        --add-laddr -z 2001:db8:1::100 -t [2001:db8::10]:80

        """

    public static let baseConfig: DirectorConfig = {
        do {
            return try RulesFile.parse(rules, file: "fuzz.rules")
        } catch {
            fatalError("the fuzz harness's own rules do not parse: \(error)")
        }
    }()

    public private(set) var director: Director
    public private(set) var responder: AdminResponder!
    private var now: UInt64 = 1_000_000_000_000

    public init() {
        director = Director(config: Self.baseConfig, capacity: 16)
        responder = AdminResponder(
            config: Self.baseConfig,
            install: { [unowned self] config in
                self.director = Director(config: config, capacity: 16)
                return nil
            },
            observe: { [unowned self] connections in
                AdminSnapshot(director: self.director, now: self.now, includeConnections: connections)
            },
            clock: { [unowned self] in
                self.now &+= 1_000_000_000
                return self.now
            },
            reload: { nil },
            health: { "health: fuzz\n" })
    }
}
