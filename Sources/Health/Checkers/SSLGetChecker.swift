/// SSL_GET: HTTP_GET over TLS through the system OpenSSL (keepalived check_ssl.c). The same
/// request, status, digest and regex rules; SNI with `enable_sni` / `sni_name`; client
/// certificate and CA verification from `TLSOptions` (the `SSL { }` block).
public final class SSLGetChecker: Checker {
    public let config: CheckerConfig
    let http: HTTPGetConfig
    let tls: TLSOptions
    /// One context per checker, as keepalived keeps one per daemon; why not, if OpenSSL refused.
    private let context: Result<TLSContext, CheckFailure>

    public init(config: CheckerConfig, http: HTTPGetConfig, tls: TLSOptions) {
        self.config = config
        self.http = http
        self.tls = tls
        self.context = Result { () throws(CheckFailure) in try TLSContext(tls) }
    }

    public func makeProbe() -> any Probe {
        switch context {
        case .success(let context): HTTPProbe(config: config, http: http, tls: HTTPProbe.TLSSetup(context: context, options: tls))
        case .failure(let failure): FailedProbe(failure)
        }
    }
}

/// A probe that fails at once: for checkers that cannot run at all (no TLS context, no program).
final class FailedProbe: Probe {
    let failure: CheckFailure
    init(_ failure: CheckFailure) { self.failure = failure }
    func start(now: Duration) -> ProbeStep { .done(.failure(failure)) }
    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep { .done(.failure(failure)) }
    func cancel() {}
}
