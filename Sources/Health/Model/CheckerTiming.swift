/// When a checker runs and how many failures make a real server down: keepalived's common
/// checker keywords (check_api.c install_checker_common_keywords) with their defaults.
///
/// Defaults, as keepalived resolves them (check_data.c validate_check_config, check_api.c
/// queue_checker, check_http.c http_get_handler, check_misc.c misc_check_handler):
/// - `delay_loop` 60 s (KEEPALIVED_DEFAULT_DELAY), inherited checker ← real server ← virtual server;
/// - `connect_timeout` 5 s (the virtual server's `connection_to`);
/// - `retry` 1 (`nb_get_retry` is its deprecated HTTP_GET/SSL_GET spelling), 0 for MISC_CHECK;
/// - `delay_before_retry` 1 s, 3 s for HTTP_GET and SSL_GET;
/// - `warmup` defaults to `delay_loop`: the first check starts after a random delay in
///   [0, warmup] so hundreds of checks do not hit the servers at once (check_api.c
///   register_checkers_thread);
/// - `alpha` off: a real server starts alive and is removed after its first failure; with
///   `alpha` it starts failed and is added after its first success.
public struct CheckerTiming: Hashable, Sendable {
    public var delayLoop: Duration
    public var connectTimeout: Duration
    /// Failed attempts after the first before the checker reports down (so `retry + 1` in all).
    public var retry: Int
    public var delayBeforeRetry: Duration
    /// Upper bound of the random delay before the first check; nil means `delayLoop`.
    public var warmup: Duration?
    public var alpha: Bool

    public init(delayLoop: Duration = .seconds(60), connectTimeout: Duration = .seconds(5), retry: Int = 1,
                delayBeforeRetry: Duration = .seconds(1), warmup: Duration? = nil, alpha: Bool = false) {
        self.delayLoop = delayLoop
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup
        self.alpha = alpha
    }

    /// keepalived's defaults for one checker kind.
    public static func defaults(for kind: CheckerKind) -> CheckerTiming {
        switch kind {
        case .httpGet, .sslGet: CheckerTiming(delayBeforeRetry: .seconds(3))
        case .misc: CheckerTiming(retry: 0)
        // check_dns.h DNS_DEFAULT_RETRY.
        case .dns: CheckerTiming(retry: 3)
        case .tcp, .ping, .udp, .smtp, .file, .bfd: CheckerTiming()
        }
    }

    /// The warmup bound in effect.
    public var effectiveWarmup: Duration { warmup ?? delayLoop }

    /// Problems that make the timing unusable, as sentences; empty when it is fine.
    public var problems: [String] {
        var out: [String] = []
        if delayLoop <= .zero { out.append("delay_loop must be positive (keepalived's minimum is 1 µs)") }
        if connectTimeout <= .zero { out.append("connect_timeout must be positive") }
        if retry < 0 { out.append("retry must not be negative") }
        if delayBeforeRetry < .zero { out.append("delay_before_retry must not be negative") }
        if let warmup, warmup < .zero { out.append("warmup must not be negative") }
        return out
    }
}
