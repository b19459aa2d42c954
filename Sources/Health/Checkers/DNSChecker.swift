#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// DNS_CHECK: one query over UDP to the real server; the check passes on a response with our
/// id and RCODE 0 within `connect_timeout` (keepalived check_dns.c). Datagrams that are too
/// short, carry another id or are not responses are dropped and the wait goes on, as
/// keepalived does; an error RCODE, an ICMP unreachable or the timeout fail the check.
public final class DNSChecker: Checker {
    public let config: CheckerConfig
    let dns: DNSCheckConfig

    public init(config: CheckerConfig, dns: DNSCheckConfig) {
        self.config = config
        self.dns = dns
    }

    public func makeProbe() -> any Probe {
        DNSProbe(config: config, query: DNSQuery(id: UInt16.random(in: 0 ... .max), name: dns.name, type: dns.type))
    }
}

final class DNSProbe: Probe {
    private let config: CheckerConfig
    let query: DNSQuery
    private var socket: OwnedDescriptor?
    private var deadline: Duration = .zero
    /// check_dns.c reads into DNS_BUFFER_SIZE (768); a larger answer is cut there, and only the
    /// header matters.
    private var buffer = [UInt8](repeating: 0, count: 768)
    /// The last datagram dropped, for the timeout sentence.
    private var lastIgnored: DNSIgnoredReason?

    init(config: CheckerConfig, query: DNSQuery) {
        self.config = config
        self.query = query
    }

    func start(now: Duration) -> ProbeStep {
        let destination = config.target.destination
        switch ProbeSocket.open(family: destination.address.isIPv4 ? AF_INET : AF_INET6,
                                type: Int32(SOCK_DGRAM.rawValue), protocol: Int32(IPPROTO_UDP)) {
        case .success(let s): socket = s
        case .failure(let f): return .done(.failure(f))
        }
        guard let fd = socket?.fd else { return .done(.failure(CheckFailure("no socket"))) }
        if let failure = ProbeSocket.prepare(fd, target: config.target) { return finish(.failure(failure)) }
        if case .failed(let failure) = ProbeSocket.connect(fd, to: destination) { return finish(.failure(failure)) }
        let datagram = query.bytes
        switch ProbeSocket.send(fd, datagram[...]) {
        case .done(let n) where n == datagram.count: break
        case .done: return finish(.failure(CheckFailure("failed to write all of the datagram")))
        case .wouldBlock: return finish(.failure(CheckFailure("cannot send the query: socket buffer full")))
        case .failed(let code): return finish(.failure(CheckFailure("cannot send the query: \(SystemCall.describe(code))")))
        }
        deadline = now + config.timing.connectTimeout
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return .done(.failure(CheckFailure("no socket"))) }
        if event == .timedOut || now >= deadline {
            let dropped = lastIgnored.map { " (dropped: \($0))" } ?? ""
            return finish(.failure(CheckFailure("no DNS reply within \(HealthModel.format(config.timing.connectTimeout))\(dropped)")))
        }
        // Several datagrams may be queued; a bounded number per turn keeps a flood from
        // holding the loop.
        for _ in 0..<16 {
            switch ProbeSocket.receive(fd, into: &buffer) {
            case .wouldBlock:
                return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
            case .failed(let code):
                let reason = code == ECONNREFUSED ? "port unreachable" : SystemCall.describe(code)
                return finish(.failure(CheckFailure(reason)))
            case .done(let n):
                switch query.judge(buffer[0..<min(n, buffer.count)]) {
                case .answered: return finish(.success())
                case .error(let rcode): return finish(.failure(CheckFailure("the server answered \(DNSReplyVerdict.rcodeName(rcode))")))
                case .ignored(let why): lastIgnored = why
                }
            }
        }
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    func cancel() {
        socket?.close()
        socket = nil
    }

    private func finish(_ outcome: CheckOutcome) -> ProbeStep {
        cancel()
        return .done(outcome)
    }
}
