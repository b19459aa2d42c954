/// SSL_GET: HTTP_GET over TLS through the system OpenSSL (keepalived check_ssl.c). The same
/// request, status and digest rules; SNI with `enable_sni` / `sni_name`; the certificate is not
/// verified, as keepalived does not without an `SSL { }` block.
public final class SSLGetChecker: Checker {
    public let config: CheckerConfig
    let http: HTTPGetConfig
    let tls: TLSOptions
    /// One context per checker, as keepalived keeps one per daemon; nil if OpenSSL refused one.
    private let context: TLSContext?

    public init(config: CheckerConfig, http: HTTPGetConfig, tls: TLSOptions) {
        self.config = config
        self.http = http
        self.tls = tls
        self.context = TLSContext()
    }

    public func makeProbe() -> any Probe {
        guard let context else { return FailedProbe(CheckFailure("cannot create an OpenSSL client context")) }
        return HTTPProbe(config: config, http: http, tls: HTTPProbe.TLSSetup(context: context, options: tls))
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
