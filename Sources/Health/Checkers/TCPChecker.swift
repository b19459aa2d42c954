#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// TCP_CHECK: the real server is up when a TCP connection to it completes within
/// `connect_timeout` (keepalived check_tcp.c tcp_connect_thread / tcp_check_thread, layer4.c
/// socket_state). The connection is closed at once; nothing is sent.
public final class TCPChecker: Checker {
    public let config: CheckerConfig

    public init(config: CheckerConfig) {
        self.config = config
    }

    public func makeProbe() -> any Probe { TCPProbe(config: config) }
}

final class TCPProbe: Probe {
    private let config: CheckerConfig
    private var socket: OwnedDescriptor?
    private var deadline: Duration = .zero

    init(config: CheckerConfig) {
        self.config = config
    }

    func start(now: Duration) -> ProbeStep {
        let destination = config.target.destination
        let fd: OwnedDescriptor
        switch ProbeSocket.open(family: destination.address.isIPv4 ? AF_INET : AF_INET6,
                                type: Int32(SOCK_STREAM.rawValue), protocol: Int32(IPPROTO_TCP)) {
        case .success(let s): fd = s
        case .failure(let f): return .done(.failure(f))
        }
        socket = fd
        if let failure = ProbeSocket.prepare(fd.fd, target: config.target) { return finish(.failure(failure)) }
        switch ProbeSocket.connect(fd.fd, to: destination) {
        case .connected: return finish(.success())
        case .failed(let failure): return finish(.failure(failure))
        case .inProgress:
            deadline = now + config.timing.connectTimeout
            return .wait(fd: fd.fd, events: Int16(POLLOUT), deadline: deadline)
        }
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let fd = socket else { return .done(.failure(CheckFailure("probe already finished"))) }
        switch event {
        case .timedOut:
            return finish(.failure(CheckFailure("connect timed out after \(HealthModel.format(config.timing.connectTimeout))")))
        case .ready:
            let code = ProbeSocket.pendingError(fd.fd)
            if code == 0 { return finish(.success()) }
            if code == EINPROGRESS || code == EALREADY {
                return .wait(fd: fd.fd, events: Int16(POLLOUT), deadline: deadline)
            }
            return finish(.failure(CheckFailure(SystemCall.describe(code))))
        }
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
