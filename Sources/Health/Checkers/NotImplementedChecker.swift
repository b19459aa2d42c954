/// A checker of a kind SwiftLVS does not run (none today: BFD_CHECK is refused by the reader).
/// Every check fails at once with a sentence naming the kind and where it was written.
///
/// Why fail rather than skip: a skipped checker leaves its server judged by the others, and a
/// server with no other checker counts as alive, so a configuration that relies on, say, an
/// SMTP conversation to take a broken mail server out would keep sending clients to it. Failing
/// closed keeps the server out of the table (the keepalived mapping also sets `alpha`, so it
/// starts out, not only after the first check) and the operator sees why in the log.
public final class NotImplementedChecker: Checker {
    public let config: CheckerConfig
    let check: NotImplementedCheck

    public init(config: CheckerConfig, check: NotImplementedCheck) {
        self.config = config
        self.check = check
    }

    /// The sentence every check reports.
    public var reason: String {
        "\(check.kind) is not implemented by SwiftLVS\(check.location.map { " (\($0))" } ?? ""): the real server stays down; replace it with a checker lvsd runs (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK, SMTP_CHECK, FILE_CHECK)"
    }

    public func makeProbe() -> any Probe { NotImplementedProbe(reason: reason) }
}

final class NotImplementedProbe: Probe {
    private let reason: String

    init(reason: String) { self.reason = reason }

    func start(now: Duration) -> ProbeStep { .done(.failure(CheckFailure(reason))) }
    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep { .done(.failure(CheckFailure(reason))) }
    func cancel() {}
}
