import POSIX
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// PING_CHECK: one ICMP or ICMPv6 echo request, up when the matching echo reply arrives within
/// `connect_timeout` (keepalived check_ping.c ping_it / recv_it / ping6_it / recv6_it).
///
/// Like keepalived it uses an unprivileged ICMP datagram socket (`SOCK_DGRAM`, `IPPROTO_ICMP`),
/// where the kernel picks the identifier and filters replies. keepalived widens
/// net.ipv4.ping_group_range to allow that; SwiftLVS does not touch sysctls and falls back to a
/// raw socket (root or CAP_NET_RAW) when the range excludes it. On a raw socket every ICMP
/// message arrives, so replies are matched by identifier and sequence and anything else is
/// ignored, rather than failing the check as keepalived does for a foreign message.
///
/// The request carries 128 bytes of keepalived's "keepalived check - " pattern.
public final class PingChecker: Checker {
    public let config: CheckerConfig
    /// Raw sockets name the identifier themselves: one per checker.
    let identifier: UInt16
    var sequence: UInt16 = 0
    /// Set after the first EACCES/EPERM from a datagram ICMP socket.
    var useRaw = false

    public init(config: CheckerConfig) {
        self.config = config
        var g = SystemRandomNumberGenerator()
        identifier = UInt16.random(in: 1...UInt16.max, using: &g)
    }

    public func makeProbe() -> any Probe {
        sequence &+= 1
        return PingProbe(checker: self, sequence: sequence)
    }
}

final class PingProbe: Probe {
    static let payloadLength = 128

    private let checker: PingChecker
    private let sequence: UInt16
    private var socket: OwnedDescriptor?
    private var raw = false
    private var deadline: Duration = .zero
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init(checker: PingChecker, sequence: UInt16) {
        self.checker = checker
        self.sequence = sequence
    }

    private var config: CheckerConfig { checker.config }
    private var ipv4: Bool { config.target.destination.address.isIPv4 }

    func start(now: Duration) -> ProbeStep {
        let family = ipv4 ? AF_INET : AF_INET6
        let proto = ipv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        if !checker.useRaw {
            switch ProbeSocket.open(family: family, type: Int32(SOCK_DGRAM.rawValue), protocol: proto) {
            case .success(let s): socket = s
            case .failure:
                if errno == EACCES || errno == EPERM { checker.useRaw = true }
            }
        }
        if socket == nil {
            switch ProbeSocket.open(family: family, type: Int32(SOCK_RAW.rawValue), protocol: proto) {
            case .success(let s): socket = s
            case .failure(let f):
                return .done(.failure(CheckFailure("\(f.reason) (ICMP sockets need net.ipv4.ping_group_range to include this group, or CAP_NET_RAW)")))
            }
            raw = true
        }
        guard let fd = socket?.fd else { return .done(.failure(CheckFailure("no socket"))) }
        if let failure = ProbeSocket.prepare(fd, target: config.target) { return finish(.failure(failure)) }
        // connect: the kernel then delivers only this address's messages and reports errors.
        let destination = Endpoint(config.target.destination.address, 0)
        if case .failed(let failure) = ProbeSocket.connect(fd, to: destination) { return finish(.failure(failure)) }
        let request = echoRequest()
        switch ProbeSocket.send(fd, request[...]) {
        case .done: break
        case .wouldBlock: return finish(.failure(CheckFailure("cannot send the echo request: socket buffer full")))
        case .failed(let code): return finish(.failure(CheckFailure("cannot send the echo request: \(SystemCall.describe(code))")))
        }
        deadline = now + config.timing.connectTimeout
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    /// Echo request (RFC 792 type 8 / RFC 4443 type 128), code 0, identifier, sequence,
    /// keepalived's payload. The checksum is ours only on a raw IPv4 socket; the kernel fills
    /// it for datagram ICMP sockets and for ICMPv6.
    func echoRequest() -> [UInt8] {
        let pattern = Array("keepalived check - ".utf8)
        var bytes = [UInt8](repeating: 0, count: ICMPv4Message.headerLength + Self.payloadLength)
        bytes[0] = ipv4 ? ICMPv4Type.echoRequest.rawValue : ICMPv6Type.echoRequest.rawValue
        bytes[4] = UInt8(checker.identifier >> 8)
        bytes[5] = UInt8(checker.identifier & 0xFF)
        bytes[6] = UInt8(sequence >> 8)
        bytes[7] = UInt8(sequence & 0xFF)
        for i in 0..<Self.payloadLength { bytes[8 + i] = pattern[i % pattern.count] }
        if ipv4 && raw {
            let sum = bytes.withUnsafeBytes { Checksum.finish(Checksum.sum($0.baseAddress!, count: $0.count)) }
            bytes[2] = UInt8(sum >> 8)
            bytes[3] = UInt8(sum & 0xFF)
        }
        return bytes
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return .done(.failure(CheckFailure("no socket"))) }
        // Anyone can send ICMP to the director and a raw socket sees all of it: the deadline is
        // checked on every turn and one turn reads a bounded number of messages, so a flood of
        // foreign ICMP can neither hold this check past its deadline nor the loop in this call.
        if event == .timedOut || now >= deadline {
            return finish(.failure(CheckFailure("no echo reply within \(HealthModel.format(config.timing.connectTimeout))")))
        }
        for _ in 0..<Self.readBudget {
            switch ProbeSocket.receive(fd, into: &buffer) {
            case .wouldBlock:
                return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
            case .failed(let code):
                // A datagram ICMP socket reports destination unreachable as an error.
                return finish(.failure(CheckFailure(SystemCall.describe(code))))
            case .done(let n):
                if isOurReply(Array(buffer[0..<n])) { return finish(.success()) }
            }
        }
        return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
    }

    /// Messages one turn reads before giving the loop back.
    static let readBudget = 64

    /// An echo reply (type 0 / 129) with our sequence and, on raw sockets, our identifier.
    func isOurReply(_ message: [UInt8]) -> Bool {
        var icmp = message[...]
        if raw && ipv4 {
            // Raw IPv4 sockets hand over the IP header too.
            guard let first = message.first, first >> 4 == 4 else { return false }
            let headerLength = Int(first & 0x0F) * 4
            guard message.count >= headerLength + ICMPv4Message.headerLength else { return false }
            icmp = message[headerLength...]
        }
        guard icmp.count >= ICMPv4Message.headerLength else { return false }
        let b = Array(icmp)
        let replyType: UInt8 = ipv4 ? ICMPv4Type.echoReply.rawValue : ICMPv6Type.echoReply.rawValue
        guard b[0] == replyType, b[1] == 0 else { return false }
        let id = UInt16(b[4]) << 8 | UInt16(b[5]), seq = UInt16(b[6]) << 8 | UInt16(b[7])
        return seq == sequence && (!raw || id == checker.identifier)
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
