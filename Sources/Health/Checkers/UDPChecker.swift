#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// UDP_CHECK: one datagram to the real server (keepalived check_udp.c, layer4.c
/// udp_bind_connect / udp_socket_state).
///
/// The socket is connected, so an ICMP port or host unreachable comes back as an error on it:
/// that fails the check. Without `require_reply`, no answer by `connect_timeout` is success (UDP
/// services need not answer); with it, a reply must arrive, and when a reply pattern is set it
/// must match (lengths `min_reply_length`...`max_reply_length`, then the pattern over the
/// shorter of the two, wildcards ignored — check_udp_reply).
public final class UDPChecker: Checker {
    public let config: CheckerConfig
    let udp: UDPCheckConfig

    public init(config: CheckerConfig, udp: UDPCheckConfig) {
        self.config = config
        self.udp = udp
    }

    public func makeProbe() -> any Probe { UDPProbe(config: config, udp: udp) }
}

final class UDPProbe: Probe {
    private let config: CheckerConfig
    private let udp: UDPCheckConfig
    private var socket: OwnedDescriptor?
    private var deadline: Duration = .zero
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(config: CheckerConfig, udp: UDPCheckConfig) {
        self.config = config
        self.udp = udp
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
        let payload = udp.payload ?? UDPCheckConfig.defaultPayload
        switch ProbeSocket.send(fd, payload[...]) {
        case .done(let n) where n == payload.count: break
        case .done(let n): return finish(.failure(CheckFailure("sent \(n) bytes instead of \(payload.count)")))
        case .wouldBlock: return finish(.failure(CheckFailure("cannot send: socket buffer full")))
        case .failed(let code): return finish(.failure(CheckFailure("cannot send: \(SystemCall.describe(code))")))
        }
        deadline = now + config.timing.connectTimeout
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return .done(.failure(CheckFailure("no socket"))) }
        if event == .timedOut {
            if udp.requireReply {
                return finish(.failure(CheckFailure("no reply within \(HealthModel.format(config.timing.connectTimeout))")))
            }
            return finish(.success())
        }
        switch ProbeSocket.receive(fd, into: &buffer) {
        case .wouldBlock:
            return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
        case .failed(let code):
            let reason = code == ECONNREFUSED ? "port unreachable" : SystemCall.describe(code)
            return finish(.failure(CheckFailure(reason)))
        case .done(let n):
            if let pattern = udp.reply {
                if let mismatch = Self.replyMismatch(Array(buffer[0..<n]), pattern: pattern, udp: udp) {
                    return finish(.failure(CheckFailure(mismatch)))
                }
            }
            return finish(.success())
        }
    }

    /// check_udp_reply: nil when the reply is acceptable, else why not.
    static func replyMismatch(_ reply: [UInt8], pattern: HexPattern, udp: UDPCheckConfig) -> String? {
        if reply.count < udp.minReplyLength || reply.count > udp.maxReplyLength {
            return "reply of \(reply.count) bytes, expected \(udp.minReplyLength)-\(udp.maxReplyLength)"
        }
        if !pattern.matchesPrefix(of: reply) { return "reply data mismatch" }
        return nil
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
