#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// HTTP_GET: for each `url`, a fresh TCP connection, keepalived's GET request, the response
/// read to the server's close; the check passes when every url answers with an accepted status
/// code and, where a `digest` is set, a body whose MD5 matches (keepalived check_http.c
/// http_connect_thread → http_request → http_read_thread → http_handle_response).
///
/// Deadline: each url's exchange (connect, TLS handshake, request, the whole response header
/// and body) must end within `connect_timeout` of its connect. keepalived gives the connect and
/// TLS handshake one `connect_timeout` together (check_http.c passes the remaining time on) but
/// re-arms it for every read, so a server sending a byte a second holds the check forever; here
/// the response gets no fresh time. What is read is capped too: the header at
/// `HTTPResponseReader.maximumHeaderLength`, the body at Content-Length (nothing after it is
/// needed) or `maximumBodyLength`, and each turn reads at most `readBudget` bytes before giving
/// the loop back, so a server streaming at line rate cannot starve the other checks.
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
    /// Each url's compiled `regex` (nil without one), built once per probe from the plan.
    private let regexes: [Regex<AnyRegexOutput>?]
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
    /// When the current url's exchange must be over.
    private var deadline: Duration = .zero
    /// The most bytes one `handle` reads before yielding to the loop (poll answers at once if
    /// more is waiting, after the other ready probes had their turn).
    static let readBudget = 262_144
    /// genhash: compute the digest of every url even without `digest`, never fail on status.
    private let genhash: Bool

    init(config: CheckerConfig, http: HTTPGetConfig, tls: TLSSetup?, genhash: Bool = false) {
        self.config = config
        self.http = http
        self.tls = tls
        self.genhash = genhash
        // CheckerConfig.problems refused patterns that do not compile; a nil here fails the url.
        regexes = http.urls.map { try? $0.regex?.compiled() }
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
        reader = HTTPResponseReader(digest: url.digest != nil || genhash, keepBody: url.regex == nil ? 0 : BodyRegex.maximumSubjectLength)
        sent = 0
        deadline = now + timeout
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
        case .inProgress: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
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
        case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
        case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
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
                case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
                case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
                case .closed: return fail("cannot send the request: the server closed the connection")
                case .failed(let why): return fail("cannot send the request: \(why)")
                }
            } else {
                switch ProbeSocket.send(fd, request[sent...]) {
                case .done(let n): sent += n
                case .wouldBlock: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
                case .failed(let code): return fail("cannot send the request: \(SystemCall.describe(code))")
                }
            }
        }
        phase = .receiving
        return receive(now: now)
    }

    private func receive(now: Duration) -> ProbeStep {
        guard let fd = socket?.fd else { return fail("no socket") }
        var budget = HTTPProbe.readBudget
        while true {
            if let malformed = reader.malformed { return fail("malformed response: \(malformed)") }
            if reader.headerTooLong { return fail("the response header is longer than \(HTTPResponseReader.maximumHeaderLength) bytes") }
            if reader.bodyComplete { return evaluate(now: now) }
            // keepalived reads to the close: a body that does not end is a failed check, with or
            // without a digest; here it ends at the cap instead of holding the check.
            if reader.bodyTooLong { return fail("the body is longer than \(HTTPResponseReader.maximumBodyLength) bytes, the most a check reads") }
            guard budget > 0 else { return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline) }
            if let session {
                switch session.read(into: &buffer) {
                case .done(let n): reader.consume(buffer[0..<n]); budget -= n
                case .wantRead: return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
                case .wantWrite: return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline)
                // check_ssl.c ssl_read_thread judges what arrived, whatever ended the stream.
                case .closed, .failed: return evaluate(now: now)
                }
            } else {
                switch ProbeSocket.receive(fd, into: &buffer) {
                case .done(0): return evaluate(now: now)
                case .done(let n): reader.consume(buffer[0..<n]); budget -= n
                case .wouldBlock: return .wait(fd: fd, events: Int16(POLLIN), deadline: deadline)
                case .failed(let code): return fail("read error: \(SystemCall.describe(code))")
                }
            }
        }
    }

    /// http_handle_response: a header, an accepted status, the digest.
    private func evaluate(now: Duration) -> ProbeStep {
        cancel()
        guard reader.headerComplete else {
            return fail(reader.bodyBytes == 0 ? "no data received" : "no complete HTTP response header received")
        }
        if let malformed = reader.malformed { return fail("malformed response: \(malformed)") }
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
        if let regex = url.regex {
            guard let compiled = regexes[urlIndex] else { return fail("regex '\(regex.pattern)' does not compile") }
            if let why = regex.verdict(on: reader.body[...], compiled: compiled) { return fail(why) }
        }
        urlIndex += 1
        if urlIndex < http.urls.count { return connect(now: now) }
        urlIndex = http.urls.count - 1
        return .done(.success())
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        // A server that keeps the socket readable never lets the wait time out: the deadline is
        // checked on every turn, not only when poll gives up.
        if event == .timedOut || now >= deadline {
            switch phase {
            case .connecting: return fail("connect timed out after \(HealthModel.format(timeout))")
            case .handshaking: return fail("TLS handshake timed out after \(HealthModel.format(timeout))")
            case .sending: return fail("timed out sending the request after \(HealthModel.format(timeout))")
            case .receiving:
                // The whole response had `connect_timeout` from the connect, not per read.
                if reader.headerComplete {
                    return fail("timed out after \(HealthModel.format(timeout)) waiting for the rest of the body (\(reader.bodyBytes) bytes read)")
                }
                return fail("timed out after \(HealthModel.format(timeout)) waiting for the response")
            }
        }
        switch phase {
        case .connecting:
            guard let fd = socket?.fd else { return fail("no socket") }
            let code = ProbeSocket.pendingError(fd)
            if code == EINPROGRESS || code == EALREADY { return .wait(fd: fd, events: Int16(POLLOUT), deadline: deadline) }
            guard code == 0 else { return fail(SystemCall.describe(code)) }
            return connected(now: now)
        case .handshaking: return handshake(now: now)
        case .sending: return send(now: now)
        case .receiving: return receive(now: now)
        }
    }
}
