#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// HTTP_GET: for each `url`, a fresh TCP connection, keepalived's GET request, the response
/// read to the server's close; the check passes when every url answers with an accepted status
/// code and, where a `digest` is set, a body whose MD5 matches (keepalived check_http.c
/// http_connect_thread → http_request → http_read_thread → http_handle_response).
///
/// Timeouts are per step, as in keepalived: the connect, and then each wait for more of the
/// response, may take up to `connect_timeout`.
///
/// Deliberate difference: keepalived checks one url per `delay_loop` and only reports the
/// checker up after it cycled through all of them; SwiftLVS checks all urls, in order, in one
/// check, and stops at the first that fails.
public final class HTTPGetChecker: Checker {
    public let config: CheckerConfig
    let http: HTTPGetConfig

    public init(config: CheckerConfig, http: HTTPGetConfig) {
        self.config = config
        self.http = http
    }

    public func makeProbe() -> any Probe { HTTPProbe(config: config, http: http, tls: nil) }
}

/// The HTTP_GET / SSL_GET state machine; `tls` is set for SSL_GET.
final class HTTPProbe: Probe {
    struct TLSSetup {
        var context: TLSContext
        var options: TLSOptions
    }

    private enum Phase {
        case connecting
        case handshaking
        case sending
        case receiving
    }

    private let config: CheckerConfig
    private let http: HTTPGetConfig
    private let tls: TLSSetup?
    private var urlIndex = 0
    private var phase = Phase.connecting
    private var socket: OwnedDescriptor?
    private var session: TLSSession?
    private var request: [UInt8] = []
    private var sent = 0
    private var reader = HTTPResponseReader(digest: false)
    private var buffer = [UInt8](repeating: 0, count: 16_384)
    /// The body digest and status of the last url read (genhash prints the digest).
    private(set) var lastDigest: MD5Digest?
    private(set) var lastStatus = 0
    private(set) var lastBodyBytes = 0
    /// genhash: compute the digest of every url even without `digest`, never fail on status.
    private let genhash: Bool

    init(config: CheckerConfig, http: HTTPGetConfig, tls: TLSSetup?, genhash: Bool = false) {
        self.config = config
        self.http = http
        self.tls = tls
        self.genhash = genhash
    }

    private var url: HTTPURLCheck { http.urls[urlIndex] }
    private var timeout: Duration { config.timing.connectTimeout }

    func start(now: Duration) -> ProbeStep {
        guard !http.urls.isEmpty else { return .done(.failure(CheckFailure("no url to check"))) }
        return connect(now: now)
    }

    func cancel() {
        session = nil
        socket?.close()
        socket = nil
    }

    private func fail(_ reason: String) -> ProbeStep {
        cancel()
        return .done(.failure(CheckFailure(reason, subject: url.path)))
    }

    private func connect(now: Duration) -> ProbeStep {
        cancel()
        phase = .connecting
        reader = HTTPResponseReader(digest: url.digest != nil || genhash)
        sent = 0
        let destination = config.target.destination
        let virtualhost = url.virtualhost ?? http.virtualhost
        request = HTTPRequest.bytes(path: url.path, virtualhost: virtualhost, destination: destination, version: http.httpProtocol)
        switch ProbeSocket.open(family: destination.address.isIPv4 ? AF_INET : AF_INET6,
                                type: Int32(SOCK_STREAM.rawValue), protocol: Int32(IPPROTO_TCP)) {
        case .success(let s): socket = s
        case .failure(let f): return fail(f.reason)
        }
        guard let fd = socket?.fd else { return fail("no socket") }
        if let failure = ProbeSocket.prepare(fd, target: config.target) { return fail(failure.reason) }
        switch ProbeSocket.connect(fd, to: destination) {
        case .connected: return connected(now: now)
        case .failed(let failure): return fail(failure.reason)
        case .inProgress: return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout)
        }
    }

    private func connected(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        if let tls {
            let name = tls.options.enableSNI ? (tls.options.sniName ?? url.virtualhost ?? http.virtualhost) : nil
            guard let s = TLSSession(context: tls.context, fd: fd, serverName: name) else {
                return fail("cannot start TLS (SSL_new failed)")
            }
            session = s
            phase = .handshaking
            return handshake(now: now)
        }
        phase = .sending
        return send(now: now)
    }

    private func handshake(now: Duration) -> ProbeStep {
        guard let session, let fd = socket?.fd else { return fail("no socket") }
        switch session.handshake() {
        case .done:
            phase = .sending
            return send(now: now)
        case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: now + timeout)
        case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout)
        case .closed: return fail("TLS handshake failed: the server closed the connection")
        case .failed(let why): return fail("TLS handshake failed: \(why)")
        }
    }

    private func send(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        while sent < request.count {
            if let session {
                switch session.write(request[sent...]) {
                case .done(let n): sent += n
                case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: now + timeout)
                case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout)
                case .closed: return fail("cannot send the request: the server closed the connection")
                case .failed(let why): return fail("cannot send the request: \(why)")
                }
            } else {
                switch ProbeSocket.send(fd, request[sent...]) {
                case .done(let n): sent += n
                case .wouldBlock: return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout)
                case .failed(let code): return fail("cannot send the request: \(SystemCall.describe(code))")
                }
            }
        }
        phase = .receiving
        return receive(now: now)
    }

    private func receive(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        while true {
            if let session {
                switch session.read(into: &buffer) {
                case .done(let n): reader.consume(buffer[0..<n])
                case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: now + timeout)
                case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout)
                // check_ssl.c ssl_read_thread judges what arrived, whatever ended the stream.
                case .closed, .failed: return evaluate(now: now)
                }
            } else {
                switch ProbeSocket.receive(fd, into: &buffer) {
                case .done(0): return evaluate(now: now)
                case .done(let n): reader.consume(buffer[0..<n])
                case .wouldBlock: return .wait(fd: fd, events: Int16(POLLIN), deadline: now + timeout)
                case .failed(let code): return fail("read error: \(SystemCall.describe(code))")
                }
            }
            if reader.headerTooLong { return fail("the response header is longer than \(HTTPResponseReader.maximumHeaderLength) bytes") }
        }
    }

    /// http_handle_response: a header, an accepted status, the digest.
    private func evaluate(now: Duration) -> ProbeStep {
        cancel()
        guard reader.headerComplete else {
            return fail(reader.bodyBytes == 0 ? "no data received" : "no complete HTTP response header received")
        }
        lastStatus = reader.statusCode
        lastBodyBytes = reader.bodyBytes
        let digest = reader.finishDigest()
        lastDigest = digest
        if genhash { return .done(.success()) }
        guard url.statusCodes.contains(reader.statusCode) else {
            return fail("status \(reader.statusCode), expected \(url.statusCodes)")
        }
        if let expected = url.digest {
            guard let digest else { return fail("cannot compute MD5 (OpenSSL EVP unavailable)") }
            guard digest == expected else { return fail("digest \(digest), expected \(expected)") }
        }
        urlIndex += 1
        if urlIndex < http.urls.count { return connect(now: now) }
        urlIndex = http.urls.count - 1
        return .done(.success())
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        if event == .timedOut {
            switch phase {
            case .connecting: return fail("connect timed out after \(HealthModel.format(timeout))")
            case .handshaking: return fail("TLS handshake timed out after \(HealthModel.format(timeout))")
            case .sending: return fail("timed out sending the request after \(HealthModel.format(timeout))")
            case .receiving:
                return fail("timed out after \(HealthModel.format(timeout)) waiting for \(reader.headerComplete ? "the rest of the body" : "the response")")
            }
        }
        switch phase {
        case .connecting:
            guard let fd = socket?.fd else { return fail("no socket") }
            let code = ProbeSocket.pendingError(fd)
            if code == EINPROGRESS || code == EALREADY { return .wait(fd: fd, events: Int16(POLLOUT), deadline: now + timeout) }
            guard code == 0 else { return fail(SystemCall.describe(code)) }
            return connected(now: now)
        case .handshaking: return handshake(now: now)
        case .sending: return send(now: now)
        case .receiving: return receive(now: now)
        }
    }
}
