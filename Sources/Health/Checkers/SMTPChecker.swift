#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// SMTP_CHECK: a TCP connection and keepalived's short conversation (check_smtp.c
/// smtp_engine_thread): the server's banner must be 220, `HELO helo_name` must draw 250, then
/// `QUIT` and any reply line ends a passing check.
///
/// Each step (connect, banner, HELO reply, QUIT reply) has `connect_timeout`, as keepalived
/// re-arms its timer per step. A reply is read to its last line (RFC 5321 4.2.1: `220-` lines
/// continue, `220 ` ends), where keepalived reads one line and takes the next continuation
/// line as the HELO reply, failing servers with multi-line banners. A reply longer than
/// `maximumReplyLength` fails the check instead of being read on (keepalived wraps its
/// 512-byte buffer).
public final class SMTPChecker: Checker {
    public let config: CheckerConfig
    let smtp: SMTPCheckConfig

    public init(config: CheckerConfig, smtp: SMTPCheckConfig) {
        self.config = config
        self.smtp = smtp
    }

    public func makeProbe() -> any Probe { SMTPProbe(config: config, smtp: smtp) }
}

/// One SMTP reply as it arrives: lines until one whose code is followed by a space (or ends).
public struct SMTPReplyReader {
    /// check_smtp.h SMTP_BUFF_MAX: the longest reply line.
    public static let maximumReplyLength = 512

    private var pending: [UInt8] = []
    /// The code of the reply once its last line arrived.
    public private(set) var code: Int?
    /// Why the reply cannot be read (a line without a 3-digit code).
    public private(set) var malformed: String?
    /// A line grew past `maximumReplyLength` without ending.
    public private(set) var tooLong = false

    public init() {}

    public mutating func consume(_ bytes: ArraySlice<UInt8>) {
        for byte in bytes where code == nil && malformed == nil && !tooLong {
            guard byte != UInt8(ascii: "\n") else {
                finishLine()
                continue
            }
            guard pending.count < Self.maximumReplyLength else {
                tooLong = true
                return
            }
            pending.append(byte)
        }
    }

    private mutating func finishLine() {
        var line = pending[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        pending.removeAll(keepingCapacity: true)
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            malformed = "a reply line does not start with a 3-digit code"
            return
        }
        let value = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        // `NNN-text` continues the reply; `NNN text` or a bare `NNN` ends it.
        if line.count > 3, line[line.startIndex + 3] == UInt8(ascii: "-") { return }
        code = value
    }
}

final class SMTPProbe: Probe {
    private enum Phase: Equatable {
        case connecting
        case banner
        case sendingHelo
        case heloReply
        case sendingQuit
        case quitReply
    }

    private let config: CheckerConfig
    private let smtp: SMTPCheckConfig
    private var phase = Phase.connecting
    private var socket: OwnedDescriptor?
    private var deadline: Duration = .zero
    private var reader = SMTPReplyReader()
    private var outgoing: [UInt8] = []
    private var sent = 0
    private var buffer = [UInt8](repeating: 0, count: 1024)

    init(config: CheckerConfig, smtp: SMTPCheckConfig) {
        self.config = config
        self.smtp = smtp
    }

    private var timeout: Duration { config.timing.connectTimeout }

    func start(now: Duration) -> ProbeStep {
        let destination = config.target.destination
        switch ProbeSocket.open(family: destination.address.isIPv4 ? AF_INET : AF_INET6,
                                type: Int32(SOCK_STREAM.rawValue), protocol: Int32(IPPROTO_TCP)) {
        case .success(let s): socket = s
        case .failure(let f): return .done(.failure(f))
        }
        guard let fd = socket?.fd else { return fail("no socket") }
        if let failure = ProbeSocket.prepare(fd, target: config.target) { return finish(.failure(failure)) }
        deadline = now + timeout
        switch ProbeSocket.connect(fd, to: destination) {
        case .connected: return expect(.banner, now: now)
        case .failed(let failure): return finish(.failure(failure))
        case .inProgress: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
        }
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        if event == .timedOut || now >= deadline {
            let step: String = switch phase {
            case .connecting: "connect"
            case .banner: "the 220 banner"
            case .sendingHelo: "sending HELO"
            case .heloReply: "the HELO reply"
            case .sendingQuit: "sending QUIT"
            case .quitReply: "the QUIT reply"
            }
            return fail("timed out after \(HealthModel.format(timeout)) waiting for \(step)")
        }
        switch phase {
        case .connecting:
            let code = ProbeSocket.pendingError(fd)
            if code == EINPROGRESS || code == EALREADY { return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline) }
            guard code == 0 else { return fail(SystemCall.describe(code)) }
            return expect(.banner, now: now)
        case .sendingHelo, .sendingQuit:
            return send(now: now)
        case .banner, .heloReply, .quitReply:
            return receive(now: now)
        }
    }

    /// Waits for the next reply, with a fresh `connect_timeout`.
    private func expect(_ next: Phase, now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        phase = next
        reader = SMTPReplyReader()
        deadline = now + timeout
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    private func say(_ line: String, then next: Phase, now: Duration) -> ProbeStep {
        outgoing = Array(line.utf8) + [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        sent = 0
        phase = next
        deadline = now + timeout
        return send(now: now)
    }

    private func send(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        while sent < outgoing.count {
            switch ProbeSocket.send(fd, outgoing[sent...]) {
            case .done(let n): sent += n
            case .wouldBlock: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
            case .failed(let code): return fail("cannot send: \(SystemCall.describe(code))")
            }
        }
        return expect(phase == .sendingHelo ? .heloReply : .quitReply, now: now)
    }

    private func receive(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        while reader.code == nil {
            if let malformed = reader.malformed { return fail("malformed reply: \(malformed)") }
            if reader.tooLong { return fail("a reply line is longer than \(SMTPReplyReader.maximumReplyLength) bytes") }
            switch ProbeSocket.receive(fd, into: &buffer) {
            case .done(0): return fail("the server closed the connection before its reply")
            case .done(let n): reader.consume(buffer[0..<n])
            case .wouldBlock: return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
            case .failed(let code): return fail("read error: \(SystemCall.describe(code))")
            }
        }
        let code = reader.code ?? 0
        switch phase {
        case .banner:
            guard code == 220 else { return fail("bad greeting: \(code), expected 220") }
            return say("HELO \(smtp.heloName)", then: .sendingHelo, now: now)
        case .heloReply:
            guard code == 250 else { return fail("bad HELO response: \(code), expected 250") }
            return say("QUIT", then: .sendingQuit, now: now)
        default:
            return finish(.success())
        }
    }

    func cancel() {
        socket?.close()
        socket = nil
    }

    private func fail(_ reason: String) -> ProbeStep { finish(.failure(CheckFailure(reason))) }

    private func finish(_ outcome: CheckOutcome) -> ProbeStep {
        cancel()
        return .done(outcome)
    }
}
