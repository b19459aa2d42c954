import Wire

/// A real server's health checker as keepalived.conf declares it, with keepalived's
/// defaults and inheritance applied, for the health-check engine (KeepalivedHealthPlan).
///
/// Inheritance (keepalived.conf(5), "LVS CONFIGURATION"; check_data.c
/// `validate_check_config`): an option left out of a checker takes the real server's
/// value, and one left out of the real server takes the virtual server's.
public struct KeepalivedChecker: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `TCP_CHECK`: up when a TCP connection to the destination completes (check_tcp.c).
        case tcp
        /// `HTTP_GET`: up when every url answers as configured (check_http.c).
        case http(KeepalivedHTTPCheck)
        /// `SSL_GET`: `HTTP_GET` over TLS, with the top-level `SSL` block's context.
        case ssl(KeepalivedHTTPCheck)
        /// `MISC_CHECK`: up when a program exits 0 (check_misc.c).
        case misc(KeepalivedMiscCheck)
        /// `PING_CHECK`: up when an ICMP echo is answered (check_ping.c).
        case ping
        /// `UDP_CHECK`: up when a datagram draws no ICMP error, or the required reply (check_udp.c).
        case udp(KeepalivedUDPCheck)
        /// `DNS_CHECK`: up when a query is answered (check_dns.c).
        case dns(KeepalivedDNSCheck)
        /// `SMTP_CHECK`: up when the server greets with 220 and answers HELO with 250 (check_smtp.c).
        case smtp(KeepalivedSMTPCheck)
        /// `FILE_CHECK`: kept as written (the health plan fails it closed).
        case other(KeepalivedStatement)
    }

    public var kind: Kind
    /// Where and how to connect; nil for `MISC_CHECK` and the kinds kept as written.
    public var connection: KeepalivedCheckerConnection?
    public var timing: KeepalivedCheckerTiming
    /// `log_all_failures`: log every failure, not only state changes; default off.
    public var logAllFailures: Bool
    /// Where the block starts, for sentences about it (a checker lvsd cannot run names its line).
    public var location: ConfigLocation?

    public init(kind: Kind, connection: KeepalivedCheckerConnection?, timing: KeepalivedCheckerTiming, logAllFailures: Bool = false,
                location: ConfigLocation? = nil) {
        self.kind = kind
        self.connection = connection
        self.timing = timing
        self.logAllFailures = logAllFailures
        self.location = location
    }

    // Where a block was written is not part of what it checks: equality and hashing leave the
    // location out, so moving a block in the file changes nothing.
    public static func == (a: KeepalivedChecker, b: KeepalivedChecker) -> Bool {
        a.kind == b.kind && a.connection == b.connection && a.timing == b.timing && a.logAllFailures == b.logAllFailures
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(connection)
        hasher.combine(timing)
        hasher.combine(logAllFailures)
    }

    /// The block's keyword (`TCP_CHECK`, `HTTP_GET`, ...).
    public var keyword: String {
        switch kind {
        case .tcp: "TCP_CHECK"
        case .http: "HTTP_GET"
        case .ssl: "SSL_GET"
        case .misc: "MISC_CHECK"
        case .ping: "PING_CHECK"
        case .udp: "UDP_CHECK"
        case .dns: "DNS_CHECK"
        case .smtp: "SMTP_CHECK"
        case .other(let statement): statement.name
        }
    }
}

/// The connection options every checker but `MISC_CHECK` has (check_api.c
/// `install_checker_common_keywords`).
public struct KeepalivedCheckerConnection: Hashable, Sendable {
    /// `connect_ip`; nil: the real server's address.
    public var address: IPAddress?
    /// `connect_port`; nil: the real server's port.
    public var port: UInt16?
    /// `bindto`: the source address; nil: chosen by the kernel.
    public var bindAddress: IPAddress?
    /// `bind_port`: the source port; nil: chosen by the kernel.
    public var bindPort: UInt16?
    /// `bind_if`: the interface, needed for an IPv6 link-local `bindto`.
    public var bindInterface: String?
    /// `fwmark`: SO_MARK on the checker's packets.
    public var fwmark: UInt32?
    /// `connect_timeout`: checker, else real server, else virtual server, else 5 s.
    public var connectTimeout: Duration

    public init(address: IPAddress? = nil, port: UInt16? = nil, bindAddress: IPAddress? = nil, bindPort: UInt16? = nil,
                bindInterface: String? = nil, fwmark: UInt32? = nil, connectTimeout: Duration = KeepalivedDefaults.connectTimeout) {
        self.address = address
        self.port = port
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.bindInterface = bindInterface
        self.fwmark = fwmark
        self.connectTimeout = connectTimeout
    }
}

/// When a checker runs and how it decides, after inheritance.
public struct KeepalivedCheckerTiming: Hashable, Sendable {
    /// `delay_loop`: the interval between checks; default 60 s (`KEEPALIVED_DEFAULT_DELAY`).
    public var delayLoop: Duration
    /// `retry` (or HTTP_GET's deprecated `nb_get_retry`): further attempts before a server
    /// that was up is declared down; default 1, 0 for MISC_CHECK, 3 for DNS_CHECK.
    public var retry: UInt32
    /// `delay_before_retry`: default 1 s, 3 s for HTTP_GET and SSL_GET, `delayLoop` for DNS_CHECK.
    public var delayBeforeRetry: Duration
    /// `warmup`: the first check starts at a random moment up to this late; default `delayLoop`.
    public var warmup: Duration
    /// `alpha`: start with the server considered down until a check passes; default off.
    public var alpha: Bool

    public init(delayLoop: Duration = KeepalivedDefaults.delayLoop, retry: UInt32 = 1, delayBeforeRetry: Duration = .seconds(1),
                warmup: Duration? = nil, alpha: Bool = false) {
        self.delayLoop = delayLoop
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup ?? delayLoop
        self.alpha = alpha
    }
}

/// The checker options a `virtual_server` sets for its real servers and a `real_server`
/// for its checkers, as written (nil: not given at this level).
public struct KeepalivedCheckerDefaults: Hashable, Sendable {
    public var connectTimeout: Duration?
    public var retry: UInt32?
    public var delayBeforeRetry: Duration?
    public var warmup: Duration?
    public var delayLoop: Duration?
    public var alpha: Bool?

    public init(connectTimeout: Duration? = nil, retry: UInt32? = nil, delayBeforeRetry: Duration? = nil,
                warmup: Duration? = nil, delayLoop: Duration? = nil, alpha: Bool? = nil) {
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup
        self.delayLoop = delayLoop
        self.alpha = alpha
    }

    /// `self` where set, else `fallback`.
    func over(_ fallback: KeepalivedCheckerDefaults) -> KeepalivedCheckerDefaults {
        KeepalivedCheckerDefaults(connectTimeout: connectTimeout ?? fallback.connectTimeout, retry: retry ?? fallback.retry,
                                  delayBeforeRetry: delayBeforeRetry ?? fallback.delayBeforeRetry,
                                  warmup: warmup ?? fallback.warmup, delayLoop: delayLoop ?? fallback.delayLoop,
                                  alpha: alpha ?? fallback.alpha)
    }
}

/// keepalived's defaults for what a configuration leaves out.
public enum KeepalivedDefaults {
    /// `KEEPALIVED_DEFAULT_DELAY` (check_data.h): 60 s between checks.
    public static let delayLoop = Duration.seconds(60)
    /// `alloc_vs` (check_data.c): 5 s to connect.
    public static let connectTimeout = Duration.seconds(5)
    /// HTTP status codes that pass when a url gives none (`HTTP_DEFAULT_STATUS_CODE_MIN/MAX`).
    public static let statusCodes: [ClosedRange<UInt16>] = [200...299]
    /// `IPVS_SVC_PERSISTENT_TIMEOUT`: `persistence_timeout` without a value, and the timeout
    /// `persistence_granularity` implies without one.
    public static let persistenceTimeout: UInt32 = 360
}

/// `HTTP_GET` / `SSL_GET`.
public struct KeepalivedHTTPCheck: Hashable, Sendable {
    /// `http_protocol`: the request's version line; default 1.0.
    public enum ProtocolVersion: String, Hashable, Sendable, CaseIterable {
        case http10 = "1.0"
        /// 1.0 with a `Connection: close` header.
        case http10Close = "1.0C"
        case http11 = "1.1"
    }

    /// Every url must pass for the check to pass; at least one.
    public var urls: [KeepalivedURL]
    /// `virtualhost` for the Host header: the checker's, else the real server's, else the
    /// virtual server's; nil: the destination address. A url may override it.
    public var virtualhost: String?
    public var protocolVersion: ProtocolVersion
    /// `enable_sni` (implied by `sni_name`): send SNI; SSL_GET only in effect.
    public var enableSNI: Bool
    /// `sni_name`; nil: the virtualhost.
    public var sniName: String?
    /// `fast_recovery`: check every url at once after a failure instead of one per delay_loop.
    public var fastRecovery: Bool
    /// `tls_compliant` (SSL_GET): send close_notify before closing.
    public var tlsCompliant: Bool

    public init(urls: [KeepalivedURL], virtualhost: String? = nil, protocolVersion: ProtocolVersion = .http10,
                enableSNI: Bool = false, sniName: String? = nil, fastRecovery: Bool = false, tlsCompliant: Bool = false) {
        self.urls = urls
        self.virtualhost = virtualhost
        self.protocolVersion = protocolVersion
        self.enableSNI = enableSNI
        self.sniName = sniName
        self.fastRecovery = fastRecovery
        self.tlsCompliant = tlsCompliant
    }
}

/// One `url { }` of an HTTP or SSL check.
public struct KeepalivedURL: Hashable, Sendable {
    /// `path`: the request target, such as `/` or `/health?full=1`.
    public var path: String
    /// `digest`: the MD5 of the body (as `genhash` prints it), 16 bytes; nil: not checked.
    public var digest: [UInt8]?
    /// `status_code`: codes and ranges that pass; default 200-299.
    public var statusCodes: [ClosedRange<UInt16>]
    /// `virtualhost` for this url only; nil: the checker's.
    public var virtualhost: String?
    /// `regex`: a PCRE2 pattern the body must match (must not, with `regexNoMatch`).
    public var regex: String?
    public var regexNoMatch: Bool
    /// `regex_options`: pcre2 option names, as written.
    public var regexOptions: [String]
    /// `regex_min_offset` / `regex_max_offset`: where in the body a match may start.
    public var regexMinOffset: Int?
    public var regexMaxOffset: Int?
    /// `regex_stack START MAX`: the JIT stack sizes in bytes.
    public var regexStack: ClosedRange<Int>?
    /// `tls_compliant` in a url of SSL_GET.
    public var tlsCompliant: Bool

    public init(path: String, digest: [UInt8]? = nil, statusCodes: [ClosedRange<UInt16>] = KeepalivedDefaults.statusCodes,
                virtualhost: String? = nil, regex: String? = nil, regexNoMatch: Bool = false, regexOptions: [String] = [],
                regexMinOffset: Int? = nil, regexMaxOffset: Int? = nil, regexStack: ClosedRange<Int>? = nil, tlsCompliant: Bool = false) {
        self.path = path
        self.digest = digest
        self.statusCodes = statusCodes
        self.virtualhost = virtualhost
        self.regex = regex
        self.regexNoMatch = regexNoMatch
        self.regexOptions = regexOptions
        self.regexMinOffset = regexMinOffset
        self.regexMaxOffset = regexMaxOffset
        self.regexStack = regexStack
        self.tlsCompliant = tlsCompliant
    }

    /// Whether an HTTP status code passes this url.
    public func accepts(status: UInt16) -> Bool {
        statusCodes.contains { $0.contains(status) }
    }
}

/// `MISC_CHECK`.
public struct KeepalivedMiscCheck: Hashable, Sendable {
    /// `misc_path` with `user`.
    public var script: KeepalivedScript
    /// `misc_timeout` in whole seconds; when left out, the virtual server's `delay_loop`
    /// (check_misc.c `misc_check_thread`).
    public var timeout: Duration
    /// `misc_dynamic`: exit status 2-255 sets the weight to status - 2.
    public var dynamic: Bool

    public init(script: KeepalivedScript, timeout: Duration, dynamic: Bool = false) {
        self.script = script
        self.timeout = timeout
        self.dynamic = dynamic
    }
}

/// `UDP_CHECK`.
public struct KeepalivedUDPCheck: Hashable, Sendable {
    /// `payload`: the datagram's bytes; nil: random bytes.
    public var payload: [UInt8]?
    /// `require_reply`: pass only on a reply (otherwise: on no ICMP error).
    public var requireReply: Bool
    /// `require_reply HEX`: the reply must start with these bytes, ignoring nibbles set in
    /// `replyMask` (written `x`).
    public var replyData: [UInt8]?
    public var replyMask: [UInt8]?
    /// `min_reply_length` / `max_reply_length`: default 0 and 255.
    public var minReplyLength: Int
    public var maxReplyLength: Int

    public init(payload: [UInt8]? = nil, requireReply: Bool = false, replyData: [UInt8]? = nil, replyMask: [UInt8]? = nil,
                minReplyLength: Int = 0, maxReplyLength: Int = 255) {
        self.payload = payload
        self.requireReply = requireReply
        self.replyData = replyData
        self.replyMask = replyMask
        self.minReplyLength = minReplyLength
        self.maxReplyLength = maxReplyLength
    }
}

/// `DNS_CHECK`.
public struct KeepalivedDNSCheck: Hashable, Sendable {
    /// `type`: A, NS, CNAME, SOA, MX, TXT or AAAA; default SOA.
    public var type: String
    /// `name`: the name queried; default `.`.
    public var name: String

    public static let types = ["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]

    public init(type: String = "SOA", name: String = ".") {
        self.type = type
        self.name = name
    }
}

/// `SMTP_CHECK`.
public struct KeepalivedSMTPCheck: Hashable, Sendable {
    /// `helo_name`: default `smtpchecker.keepalived.org` (check_smtp.h SMTP_DEFAULT_HELO).
    public var heloName: String

    public init(heloName: String = "smtpchecker.keepalived.org") {
        self.heloName = heloName
    }
}
