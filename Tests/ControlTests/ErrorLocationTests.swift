import Control
import Core
import Testing
import Wire

/// One rules text that must fail, and exactly where and how.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var lines: [String]
    var line: Int
    var column: Int
    var message: String

    init(_ lines: [String], _ line: Int, _ column: Int, _ message: String) {
        self.lines = lines
        self.line = line
        self.column = column
        self.message = message
    }

    var testDescription: String { lines.joined(separator: " ⏎ ") }
}

private let service = "-A -t 198.18.0.10:80"
private let server = "-a -t 198.18.0.10:80 -r 198.18.1.1"
private let eth0 = "interface eth0 mac 02:00:00:00:00:01"
private let neighbour = "neighbour 198.18.1.1 mac 02:00:00:00:01:01"
private let lineStarts = "-A, -E, -D, -C, -a, -e, -d, --set, --add-laddr, --del-laddr, interface or neighbour"
private let flagNames = "sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3"
private let portNames = "ftp, ssh, telnet, smtp, domain, http, kerberos, pop3, ntp, imap2, snmp, ldap, https, syslog, submission, ldaps, imaps, pop3s, radius, mysql, postgresql, sip, redis, http-alt"

/// Every operator error, with its file:line:column (1-based, at the offending word or the
/// part of it that is wrong) and its exact sentence.
@Suite struct ErrorLocationTests {
    static let commandErrors: [ErrorCase] = [
        ErrorCase(["-t 198.18.0.10:80"], 1, 1, "a line must start with a command, not the option '-t'; start it with \(lineStarts)"),
        ErrorCase(["frobnicate"], 1, 1, "unknown command 'frobnicate'; a line starts with \(lineStarts)"),
        ErrorCase(["-A -a -t 198.18.0.10:80"], 1, 4, "a line holds one command, but this one has both '-A' and '-a'; put -a on its own line"),
        ErrorCase(["-Z"], 1, 1, "'-Z' zeroes the counters and has no place in a rules file; a line starts with \(lineStarts)"),
        ErrorCase(["-f 1"], 1, 1, "a line must start with a command, not the option '-f'; start it with \(lineStarts)"),
        ErrorCase(["-A"], 1, 1, "-A needs a virtual service (-t VIP:port or -u VIP:port)"),
        ErrorCase(["-a -r 198.18.1.1"], 1, 1, "-a needs a virtual service (-t VIP:port or -u VIP:port)"),
        ErrorCase(["-a -t 198.18.0.10:80"], 1, 1, "-a needs a real server (-r RIP[:port])"),
        ErrorCase([service, "--add-laddr -t 198.18.0.10:80"], 2, 1, "--add-laddr needs a local address (-z LIP)"),
    ]

    static let optionErrors: [ErrorCase] = [
        ErrorCase(["-A -t 198.18.0.10:80 --foo"], 1, 22, "unknown option '--foo'"),
        ErrorCase(["-A -t 198.18.0.10:80 -6"], 1, 22, "'-6' makes a firewall-mark service IPv6 and goes after '-f MARK'"),
        ErrorCase(["-A -f 0"], 1, 7, "invalid firewall mark '0'; give a number from 1 to 2147483647"),
        ErrorCase(["-A -t 198.18.0.10:80 -s"], 1, 22, "option '-s' needs a value: a scheduler name"),
        ErrorCase(["-A -t 198.18.0.10:80 -s -p"], 1, 22, "option '-s' needs a value: a scheduler name"),
        ErrorCase(["-A -t 198.18.0.10:80 --scheduler="], 1, 34, "option '--scheduler' needs a scheduler name after '='"),
        ErrorCase(["-A -t"], 1, 4, "option '-t' needs a value: a virtual service, VIP:port"),
        ErrorCase([service, server + " -p"], 2, 36, "option '-p' (--persistent) cannot be used with -a (--add-server)"),
        ErrorCase(["-A -t 198.18.0.10:80 -w 5"], 1, 22, "option '-w' (--weight) cannot be used with -A (--add-service)"),
        ErrorCase(["-A -t 198.18.0.10:80 --masquerading"], 1, 22, "option '--masquerading' (-m) cannot be used with -A (--add-service)"),
        ErrorCase(["-d -t 198.18.0.10:80 -r 198.18.1.1 -b"], 1, 36, "option '-b' cannot be used with -d (--delete-server)"),
        ErrorCase([service, server + " -g -m"], 2, 39, "conflicting forwarding methods '-g' and '-m'; give only one of -g, -m, -i or -b"),
        ErrorCase([service, server + " -b -i"], 2, 39, "conflicting forwarding methods '-b' and '-i'; give only one of -g, -m, -i or -b"),
        ErrorCase([service, server + " -g --gatewaying"], 2, 39, "option '--gatewaying' is given twice on this line"),
        ErrorCase(["-A -t 198.18.0.10:80 -s rr -s wrr"], 1, 28, "option '-s' is given twice on this line"),
        ErrorCase(["-D -t 198.18.0.10:80 -u 198.18.0.10:80"], 1, 22, "a line names one virtual service, but this one has both '-t' and '-u'"),
        ErrorCase(["-A -t 198.18.0.10:80 rr"], 1, 22, "unexpected argument 'rr'"),
        ErrorCase(["-A -t 198.18.0.10:80 -p abc"], 1, 25, "unexpected argument 'abc'"),
        ErrorCase([service, server + " -w5"], 2, 36, "unknown option '-w5'; write the value as its own word: '-w 5'"),
        ErrorCase([service, server + " -gw"], 2, 36, "unknown option '-gw'; give each option as its own word ('-g' then the rest)"),
        ErrorCase([service, server + " --gatewaying=yes"], 2, 49, "option '--gatewaying' takes no value, but was given 'yes'"),
    ]

    static let addressErrors: [ErrorCase] = [
        ErrorCase(["-A -t 198.18.0.300:80"], 1, 7, "'198.18.0.300' is not a valid IPv4 or IPv6 virtual service address"),
        ErrorCase(["-A -t www.example.com:80"], 1, 7, "'www.example.com' is not an IP address; rules files take numeric virtual service addresses, not host names"),
        ErrorCase([service, "-a -t 198.18.0.10:80 -r 198.18.1"], 2, 25, "'198.18.1' is not a valid IPv4 or IPv6 real server address"),
        ErrorCase([service, "-a -t 198.18.0.10:80 -r [2001:db8::1"], 2, 25, "'[2001:db8::1' opens '[' but has no ']'; write an IPv6 real server as [2001:db8::1]:80"),
        ErrorCase(["-A -t [198.18.0.10]:80"], 1, 8, "brackets are for IPv6 addresses; write the IPv4 virtual service '198.18.0.10' without them"),
        ErrorCase(["-A -t [2001:db8::10]80"], 1, 21, "expected ':port' after ']' in '[2001:db8::10]80'"),
        ErrorCase(["-A -t 198.18.0.10:70000"], 1, 19, "port 70000 is out of range; give 0 to 65535"),
        ErrorCase(["-A -t [2001:db8::10]:99999"], 1, 22, "port 99999 is out of range; give 0 to 65535"),
        ErrorCase(["-A -t 198.18.0.10:htp"], 1, 19, "unknown port 'htp'; give a number from 0 to 65535 or one of: \(portNames)"),
        ErrorCase(["-A -t 198.18.0.10:"], 1, 19, "missing port after ':'"),
        ErrorCase([service, "-a -t 198.18.0.10:80 -r 198.18.1.1:99999 -m"], 2, 36, "port 99999 is out of range; give 0 to 65535"),
    ]

    static let serviceErrors: [ErrorCase] = [
        ErrorCase(["-A -t 198.18.0.10:80 -s xyz"], 1, 25, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
        ErrorCase([service, service], 2, 7, "service TCP 198.18.0.10:80 already exists"),
        ErrorCase(["-E -t 198.18.0.10:80 -s rr"], 1, 7, "service TCP 198.18.0.10:80 does not exist"),
        ErrorCase(["-D -u 198.18.0.10:53"], 1, 7, "service UDP 198.18.0.10:53 does not exist"),
        ErrorCase(["-A -t 198.18.0.10"], 1, 7, "service TCP 198.18.0.10:0 has port 0, which only a persistent service may have; give a port or add -p"),
        ErrorCase(["-A -t 198.18.0.10:80 -p 0"], 1, 25, "invalid persistence timeout '0'; give a number from 1 to 2678400"),
        ErrorCase(["-A -t 198.18.0.10:80 --persistent=abc"], 1, 35, "invalid persistence timeout 'abc'; give a number from 1 to 2678400"),
        ErrorCase(["-A -t 198.18.0.10:80 -p -M 255.0.255.0"], 1, 28, "netmask 255.0.255.0 is not contiguous; its one-bits must all come first, as in 255.255.255.0"),
        ErrorCase(["-A -t 198.18.0.10:80 -p -M 24"], 1, 28, "invalid netmask '24' for an IPv4 service; give a dotted mask such as 255.255.255.0"),
        ErrorCase(["-A -t [2001:db8::10]:80 -p -M 129"], 1, 31, "invalid IPv6 persistence prefix length '129'; give a number from 1 to 128"),
        ErrorCase(["-A -t 198.18.0.10:80 -s sh -b sh-port,bogus"], 1, 39, "unknown scheduler flag 'bogus' (known: \(flagNames))"),
        ErrorCase(["-A -t 198.18.0.10:80 -b sh-port"], 1, 25, "scheduler flag 'sh-port' belongs to the sh scheduler, but this service uses wlc"),
        ErrorCase(["-A -t 198.18.0.10:80 -s sh -b sh-port,mh-port"], 1, 39, "scheduler flag 'mh-port' belongs to the mh scheduler, but this service uses sh"),
        ErrorCase(["-A -t 198.18.0.10:80 -s sh --sched-flags=sh-port,"], 1, 50, "an empty scheduler flag (known: \(flagNames))"),
    ]

    static let serverErrors: [ErrorCase] = [
        ErrorCase([server], 1, 7, "service TCP 198.18.0.10:80 does not exist"),
        ErrorCase([service, server, server], 3, 25, "real server 198.18.1.1:80 already exists in service TCP 198.18.0.10:80"),
        ErrorCase([service, "-a -t 198.18.0.10:80 -r 2001:db8::1"], 2, 25, "real server 2001:db8::1 is IPv6 but service TCP 198.18.0.10:80 is IPv4; only tunnelling (-i) may mix address families"),
        ErrorCase(["-A -t [2001:db8::10]:80", "-a -t [2001:db8::10]:80 -r 198.18.1.1 -m"], 2, 28, "real server 198.18.1.1 is IPv4 but service TCP [2001:db8::10]:80 is IPv6; only tunnelling (-i) may mix address families"),
        ErrorCase([service, server + " -w 65536"], 2, 39, "invalid weight '65536'; give a number from 0 to 65535"),
        ErrorCase([service, server + " -w -1"], 2, 39, "invalid weight '-1'; give a number from 0 to 65535"),
        ErrorCase([service, server + " -w abc"], 2, 39, "invalid weight 'abc'; give a number from 0 to 65535"),
        ErrorCase([service, server + " -x 2147483648"], 2, 39, "invalid upper threshold '2147483648'; give a number from 0 to 2147483647"),
        ErrorCase([service, server + " -x 5 -y 10"], 2, 44, "lower threshold 10 (-y) is above upper threshold 5 (-x); give -x at least 10"),
        ErrorCase([service, server + " -y 3"], 2, 39, "lower threshold 3 (-y) is above upper threshold 0 (-x); give -x at least 3"),
        ErrorCase([service, "-e -t 198.18.0.10:80 -r 198.18.1.1 -w 2"], 2, 25, "real server 198.18.1.1:80 does not exist in service TCP 198.18.0.10:80"),
        ErrorCase([service, "-d -t 198.18.0.10:80 -r 198.18.1.9:80"], 2, 25, "real server 198.18.1.9:80 does not exist in service TCP 198.18.0.10:80"),
        // -e without a method means -g, whose port is always the service's (ipvsadm semantics).
        ErrorCase([service, "-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m", "-e -t 198.18.0.10:80 -r 198.18.1.1:8080 -w 2"], 3, 25,
                  "real server 198.18.1.1:80 does not exist in service TCP 198.18.0.10:80"),
    ]

    static let settingErrors: [ErrorCase] = [
        ErrorCase(["--set 900 120"], 1, 1, "--set needs three timeouts in seconds: tcp tcpfin udp (0 keeps a value)"),
        ErrorCase(["--set 900 x 300"], 1, 11, "invalid tcpfin timeout 'x'; give a number from 0 to 2678400"),
        ErrorCase(["--set 2678401 0 0"], 1, 7, "invalid tcp timeout '2678401'; give a number from 0 to 2678400"),
        ErrorCase(["--set 1 2 3 4"], 1, 13, "unexpected argument '4'; --set takes exactly three timeouts"),
        ErrorCase(["--add-laddr -z 198.18.2.1 -t 198.18.0.10:80"], 1, 30, "service TCP 198.18.0.10:80 does not exist"),
        ErrorCase([service, "--add-laddr -z 198.18.2 -t 198.18.0.10:80"], 2, 16, "'198.18.2' is not a valid IPv4 or IPv6 local address"),
        ErrorCase([service, "--add-laddr -z 198.18.2.1 -t 198.18.0.10:80", "--add-laddr -z 198.18.2.1 -t 198.18.0.10:80"], 3, 16,
                  "local address 198.18.2.1 already exists in service TCP 198.18.0.10:80"),
        ErrorCase([service, "--del-laddr -z 198.18.2.1 -t 198.18.0.10:80"], 2, 16, "local address 198.18.2.1 does not exist in service TCP 198.18.0.10:80"),
        ErrorCase(["interface"], 1, 1, "'interface' needs a name; write 'interface NAME mac MAC [mtu N] [address IP]...'"),
        ErrorCase(["interface eth0"], 1, 1, "interface eth0 needs its MAC address; write 'interface NAME mac MAC [mtu N] [address IP]...'"),
        ErrorCase([eth0, "interface eth0 mac 02:00:00:00:00:02"], 2, 11, "interface eth0 is already declared on line 1"),
        ErrorCase(["interface eth0 mac 02:00:00:00:00:zz"], 1, 20, "'02:00:00:00:00:zz' is not a MAC address; write six hex octets such as 02:00:00:00:00:01"),
        ErrorCase([eth0 + " mtu 20"], 1, 42, "invalid MTU '20'; give a number from 68 to 65535"),
        ErrorCase([eth0 + " speed 10"], 1, 38, "unexpected word 'speed'; expected one of 'mac', 'mtu', 'address'"),
        ErrorCase([eth0 + " address"], 1, 38, "'address' needs a value after it"),
        ErrorCase([eth0 + " mac 02:00:00:00:00:02"], 1, 38, "'mac' is given twice on this line"),
        ErrorCase([eth0 + " address 198.18.0.1 address 198.18.0.1"], 1, 65, "address 198.18.0.1 is given twice for interface eth0"),
        ErrorCase(["interface averyveryverylongname mac 02:00:00:00:00:01"], 1, 11,
                  "'averyveryverylongname' is not a usable interface name; Linux names have at most 15 characters and no '/'"),
        ErrorCase([neighbour], 1, 1, "neighbour 198.18.1.1 needs an interface, but none is declared yet; add an 'interface NAME mac MAC' line before this one"),
        ErrorCase([eth0, neighbour + " interface eth9"], 2, 54, "interface 'eth9' is not declared; add an 'interface eth9 mac MAC' line before this one"),
        ErrorCase([eth0, "neighbour 198.18.1.1"], 2, 1, "neighbour 198.18.1.1 needs its MAC address; write 'neighbour IP mac MAC [interface NAME]'"),
        ErrorCase([eth0, neighbour, neighbour], 3, 11, "neighbour 198.18.1.1 is already declared on line 2"),
        ErrorCase([eth0, "neighbour 198.18.1 mac 02:00:00:00:01:01"], 2, 11, "'198.18.1' is not a valid IPv4 or IPv6 neighbour address"),
    ]

    static let positionErrors: [ErrorCase] = [
        ErrorCase(["# comment", "", "-A -t 198.18.0.10:80 -s xyz"], 3, 25, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
        ErrorCase(["   -A -t 198.18.0.10:80 -s xyz"], 1, 28, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
        ErrorCase(["\t-A -t 198.18.0.10:80 -s xyz"], 1, 26, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
        ErrorCase(["ipvsadm -A -t 198.18.0.10:80 -s xyz"], 1, 33, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
        ErrorCase(["-A -t 198.18.0.10:80 -s xyz\r", "-A -t 198.18.0.10:80 -s abc"], 1, 25, "unknown scheduler 'xyz' (known: \(knownSchedulers))"),
    ]

    func check(_ errorCase: ErrorCase) {
        let error = parseError(errorCase.lines)
        #expect(error == ConfigError(file: rulesFile, line: errorCase.line, column: errorCase.column, message: errorCase.message))
    }

    @Test(arguments: commandErrors) func commandError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: optionErrors) func optionError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: addressErrors) func addressError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: serviceErrors) func serviceError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: serverErrors) func serverError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: settingErrors) func settingError(_ errorCase: ErrorCase) { check(errorCase) }
    @Test(arguments: positionErrors) func positionError(_ errorCase: ErrorCase) { check(errorCase) }

    @Test func descriptionNamesFileLineAndColumn() {
        let error = parseError(["-A -t 198.18.0.10:80", "-A -t 198.18.0.11:80 -s xyz"])
        #expect(error?.description == "rules.conf:2:25: error: unknown scheduler 'xyz' (known: \(knownSchedulers))")
    }
}
