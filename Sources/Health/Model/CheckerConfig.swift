/// One checker of one real server: what to probe, how, and when (a keepalived.conf checker
/// block inside `real_server`, with inherited settings already resolved).
public struct CheckerConfig: Hashable, Sendable, CustomStringConvertible {
    public var target: CheckTarget
    public var timing: CheckerTiming
    public var spec: CheckerSpec

    /// A checker with keepalived's default timing for its kind.
    public init(target: CheckTarget, spec: CheckerSpec, timing: CheckerTiming? = nil) {
        self.target = target
        self.spec = spec
        self.timing = timing ?? CheckerTiming.defaults(for: spec.kind)
    }

    public var kind: CheckerKind { spec.kind }

    /// `HTTP_GET 198.18.1.12:80`: how transition lines name the checker.
    public var description: String { "\(kind) \(target)" }

    /// Everything that makes this checker unusable, as sentences; empty when it can run.
    public var problems: [String] {
        var out = target.problems + timing.problems
        switch spec {
        case .httpGet(let http), .sslGet(let http, _):
            if http.urls.isEmpty { out.append("\(kind) has no url block: add url { path / }") }
            for url in http.urls where url.path.isEmpty || url.statusCodes.isEmpty {
                out.append(url.path.isEmpty ? "a url has no path" : "url \(url.path) accepts no status code")
            }
            for url in http.urls {
                if let problem = url.regex?.problem { out.append("url \(url.path): \(problem)") }
            }
        case .misc(let misc):
            if misc.command.isEmpty || misc.command[0].isEmpty { out.append("MISC_CHECK has no misc_path") }
            if let t = misc.timeout, t <= .zero { out.append("misc_timeout must be positive") }
        case .udp(let udp):
            if udp.minReplyLength > udp.maxReplyLength {
                out.append("UDP_CHECK min_reply_length \(udp.minReplyLength) > max_reply_length \(udp.maxReplyLength): the check would always fail")
            }
        case .dns(let dns):
            if let problem = DNSQuery.problem(name: dns.name) { out.append(problem) }
        case .smtp(let smtp):
            if smtp.heloName.isEmpty || smtp.heloName.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }) {
                out.append("SMTP_CHECK helo_name '\(smtp.heloName)' must be one word with no line break")
            }
        case .file(let file):
            if file.path.isEmpty { out.append("FILE_CHECK's track_file has no file") }
        case .tcp, .ping, .notImplemented: break
        }
        return out
    }
}

/// The kind-specific part of a checker.
public enum CheckerSpec: Hashable, Sendable {
    case tcp
    case httpGet(HTTPGetConfig)
    case sslGet(HTTPGetConfig, TLSOptions)
    case misc(MiscCheckConfig)
    case ping
    case udp(UDPCheckConfig)
    case dns(DNSCheckConfig)
    case smtp(SMTPCheckConfig)
    case file(FileCheckConfig)
    /// A kind SwiftLVS does not run: fails every check, so the server stays down (fail closed).
    case notImplemented(NotImplementedCheck)

    public var kind: CheckerKind {
        switch self {
        case .tcp: .tcp
        case .httpGet: .httpGet
        case .sslGet: .sslGet
        case .misc: .misc
        case .ping: .ping
        case .udp: .udp
        case .dns: .dns
        case .smtp: .smtp
        case .file: .file
        case .notImplemented(let n): n.kind
        }
    }
}

/// A checker block of a kind SwiftLVS does not run, and where it was written.
public struct NotImplementedCheck: Hashable, Sendable {
    public var kind: CheckerKind
    /// `file:line:column` of the block, for the sentence the failed check reports.
    public var location: String?

    public init(kind: CheckerKind, location: String? = nil) {
        self.kind = kind
        self.location = location
    }
}

/// HTTP_GET / SSL_GET (keepalived check_http.c).
public struct HTTPGetConfig: Hashable, Sendable {
    /// Checked in order; all must pass for the checker to be up.
    public var urls: [HTTPURLCheck]
    /// The `Host:` header for urls without their own `virtualhost`. The keepalived mapping
    /// resolves the real server's and virtual server's `virtualhost` into this.
    public var virtualhost: String?
    public var httpProtocol: HTTPProtocolVersion

    public init(urls: [HTTPURLCheck], virtualhost: String? = nil, httpProtocol: HTTPProtocolVersion = .http10) {
        self.urls = urls
        self.virtualhost = virtualhost
        self.httpProtocol = httpProtocol
    }
}

/// `http_protocol`: keepalived sends HTTP/1.0 by default; `1.0C` adds `Connection: close`,
/// `1.1` is HTTP/1.1 with `Connection: close` (check_http.c http_request).
public enum HTTPProtocolVersion: String, Hashable, Sendable, CaseIterable {
    case http10 = "1.0"
    case http10Close = "1.0C"
    case http11 = "1.1"
}

/// One `url { }` block.
public struct HTTPURLCheck: Hashable, Sendable {
    public var path: String
    /// `digest`: the MD5 of the body, as genhash prints it; nil skips the comparison.
    public var digest: MD5Digest?
    public var statusCodes: HTTPStatusCodes
    /// `virtualhost` inside the url block, overriding the checker's.
    public var virtualhost: String?
    /// `regex` (with `regex_no_match`, `regex_min_offset`, `regex_max_offset`): the body must
    /// match (or must not).
    public var regex: BodyRegex?

    public init(path: String, digest: MD5Digest? = nil, statusCodes: HTTPStatusCodes = .default, virtualhost: String? = nil,
                regex: BodyRegex? = nil) {
        self.path = path
        self.digest = digest
        self.statusCodes = statusCodes
        self.virtualhost = virtualhost
        self.regex = regex
    }
}

/// SSL_GET's TLS settings. Without a CA, as keepalived without an `SSL { }` block, the server
/// certificate is not verified: the check is about the service answering, not about trust.
///
/// With keepalived.conf's top-level `SSL { ca ...; certificate ...; key ... }` (check_ssl.c
/// build_ssl_ctx): the certificate chain and key are presented to servers that ask for a
/// client certificate, and the server's certificate must verify against `ca` (depth 1, as
/// keepalived sets it). Deliberate difference: keepalived loads the CA file but never asks
/// OpenSSL to verify (no SSL_VERIFY_PEER), so a server with a certificate from another CA still
/// passes there; here it fails, which is what an operator who wrote `ca` asked for. The
/// certificate's name is not compared with the server (keepalived does not either).
public struct TLSOptions: Hashable, Sendable {
    /// `enable_sni`: send SNI (the `sni_name`, else the url's or checker's virtualhost).
    public var enableSNI: Bool
    /// `sni_name`.
    public var sniName: String?
    /// `ca`: PEM CA certificates the server's certificate must verify against; nil: no verification.
    public var caFile: String?
    /// `certificate`: the PEM client certificate chain; `key`: its PEM private key.
    public var certificateFile: String?
    public var keyFile: String?

    public init(enableSNI: Bool = false, sniName: String? = nil, caFile: String? = nil, certificateFile: String? = nil,
                keyFile: String? = nil) {
        self.enableSNI = enableSNI || sniName != nil
        self.sniName = sniName
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// A script to run: argv with an absolute or PATH-resolvable program, and an optional user
/// (`misc_path` + `user`, `notify_up`, `notify_down`, `quorum_up`, `quorum_down`).
public struct ScriptCommand: Hashable, Sendable, CustomStringConvertible {
    public var arguments: [String]
    /// Run as this user (name or numeric uid); nil runs as the daemon's user.
    public var user: String?
    /// The group (name or numeric gid); nil uses the user's primary group.
    public var group: String?

    public init(_ arguments: [String], user: String? = nil, group: String? = nil) {
        self.arguments = arguments
        self.user = user
        self.group = group
    }

    /// Splits a keepalived script line the way its quoted keywords do: whitespace separates
    /// words, single or double quotes keep spaces, a backslash escapes the next character.
    public init(parsing line: String, user: String? = nil) throws(HealthConfigError) {
        var words: [String] = [], current = "", inWord = false
        var quote: Character?
        var escaped = false
        for ch in line {
            if escaped { current.append(ch); escaped = false; inWord = true; continue }
            if ch == "\\" { escaped = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
                continue
            }
            if ch == "\"" || ch == "'" { quote = ch; inWord = true; continue }
            if ch == " " || ch == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(ch)
            inWord = true
        }
        guard quote == nil else { throw HealthConfigError("unterminated quote in script '\(line)'") }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw HealthConfigError("the script line is empty") }
        self.init(words, user: user)
    }

    public var description: String { arguments.joined(separator: " ") }
}

/// MISC_CHECK (keepalived check_misc.c).
public struct MiscCheckConfig: Hashable, Sendable {
    /// `misc_path` (and its arguments) with the `user` (and group) to run it as.
    public var command: [String]
    public var user: String?
    public var group: String?
    /// `misc_timeout`; nil means `delay_loop`, as keepalived does. On timeout the script's process
    /// group gets SIGTERM, then SIGKILL 2 s later; either counts as a failure.
    public var timeout: Duration?
    /// `misc_dynamic`: exit 0 up with the configured weight, 1 down, 2...255 up with weight
    /// exit - 2. Without it any non-zero exit is down.
    public var dynamic: Bool

    public init(command: [String], user: String? = nil, group: String? = nil, timeout: Duration? = nil, dynamic: Bool = false) {
        self.command = command
        self.user = user
        self.group = group
        self.timeout = timeout
        self.dynamic = dynamic
    }
}

/// UDP_CHECK (keepalived check_udp.c).
public struct UDPCheckConfig: Hashable, Sendable {
    /// `payload`; nil sends keepalived's 32 bytes of "keepalived check - " repeated
    /// (layer4.c set_buf, UDP_BUFSIZE).
    public var payload: [UInt8]?
    /// `require_reply`: without it, silence until connect_timeout is success and only an ICMP
    /// port unreachable fails the check.
    public var requireReply: Bool
    /// The reply must start with these bytes (wildcards allowed), compared up to the shorter length.
    public var reply: HexPattern?
    /// `min_reply_length` / `max_reply_length` (defaults 0 and 255).
    public var minReplyLength: Int
    public var maxReplyLength: Int

    public init(payload: [UInt8]? = nil, requireReply: Bool = false, reply: HexPattern? = nil,
                minReplyLength: Int = 0, maxReplyLength: Int = 255) {
        self.payload = payload
        self.requireReply = requireReply || reply != nil
        self.reply = reply
        self.minReplyLength = minReplyLength
        self.maxReplyLength = maxReplyLength
    }

    /// keepalived's default datagram.
    public static let defaultPayload: [UInt8] = {
        let text = Array("keepalived check - ".utf8)
        return (0..<32).map { text[$0 % text.count] }
    }()
}

/// DNS_CHECK (keepalived check_dns.c).
public struct DNSCheckConfig: Hashable, Sendable {
    /// `type`; default SOA.
    public var type: DNSQueryType
    /// `name`; default the root (`.`).
    public var name: String

    public init(type: DNSQueryType = .soa, name: String = ".") {
        self.type = type
        self.name = name
    }
}

/// SMTP_CHECK (keepalived check_smtp.c).
public struct SMTPCheckConfig: Hashable, Sendable {
    /// check_smtp.h SMTP_DEFAULT_HELO.
    public static let defaultHeloName = "smtpchecker.keepalived.org"
    /// `helo_name`: the HELO argument.
    public var heloName: String

    public init(heloName: String = SMTPCheckConfig.defaultHeloName) {
        self.heloName = heloName
    }
}

/// HTTP_GET / SSL_GET `regex`: a pattern searched in the response body (keepalived check_http.c
/// with PCRE2). Swift's `Regex` runs it: its syntax is Perl's/PCRE's for everything a health
/// page needs (classes, anchors, groups, quantifiers, `(?i)`-style flags). keepalived's
/// options map to Swift's where one exists: `caseless`, `dotall`, `multiline`, `ungreedy`,
/// `extended` (as `(?x)`); `regexIgnoredOptions` names the rest.
public struct BodyRegex: Hashable, Sendable {
    public var pattern: String
    /// `regex_no_match`: a match fails the check.
    public var noMatch: Bool
    /// `regex_min_offset`: the search starts this many body bytes in.
    public var minOffset: Int
    /// `regex_max_offset`: a match must start at or before this body offset.
    public var maxOffset: Int?
    /// keepalived's `regex_options` names.
    public var options: Set<String>

    /// The most body bytes the regex sees (keepalived searches what it read; PCRE2 partial
    /// matching lets it go on across reads). A health page is short; 1 MiB is generous.
    public static let maximumSubjectLength = 1 << 20
    public static let supportedOptions: Set<String> = ["caseless", "dotall", "multiline", "ungreedy", "extended"]

    public init(pattern: String, noMatch: Bool = false, minOffset: Int = 0, maxOffset: Int? = nil, options: Set<String> = []) {
        self.pattern = pattern
        self.noMatch = noMatch
        self.minOffset = minOffset
        self.maxOffset = maxOffset
        self.options = options
    }

    /// The options keepalived has that this engine does not apply.
    public var ignoredOptions: [String] { options.subtracting(Self.supportedOptions).sorted() }

    /// The compiled pattern with the options applied.
    public func compiled() throws -> Regex<AnyRegexOutput> {
        var regex = try Regex(options.contains("extended") ? "(?x)" + pattern : pattern)
        if options.contains("caseless") { regex = regex.ignoresCase() }
        if options.contains("dotall") { regex = regex.dotMatchesNewlines() }
        if options.contains("multiline") { regex = regex.anchorsMatchLineEndings() }
        if options.contains("ungreedy") { regex = regex.repetitionBehavior(.reluctant) }
        return regex
    }

    /// Why the regex cannot be used, or nil.
    public var problem: String? {
        if let maxOffset, maxOffset < minOffset { return "regex_max_offset \(maxOffset) is below regex_min_offset \(minOffset)" }
        do {
            _ = try compiled()
            return nil
        } catch {
            return "regex '\(pattern)' does not compile: \(error)"
        }
    }

    /// nil when `body` passes, else why not. The body is read as UTF-8 (invalid bytes become
    /// U+FFFD); offsets count bytes, as PCRE2's do.
    public func verdict(on body: ArraySlice<UInt8>, compiled regex: Regex<AnyRegexOutput>) -> String? {
        let start = min(minOffset, body.count)
        let subject = String(decoding: body[(body.startIndex + start)...], as: UTF8.self)
        var matchOffset: Int?
        if let match = try? regex.firstMatch(in: subject) {
            matchOffset = start + subject.utf8.distance(from: subject.startIndex, to: match.range.lowerBound)
        }
        if let offset = matchOffset, let maxOffset, offset > maxOffset { matchOffset = nil }
        switch (matchOffset, noMatch) {
        case (nil, false): return "the body does not match regex '\(pattern)'"
        case (let offset?, true): return "the body matches regex '\(pattern)' at offset \(offset) (regex_no_match)"
        default: return nil
        }
    }
}

/// FILE_CHECK: the `track_file` it follows and the weight it applies (keepalived ≥ 2.2).
public struct FileCheckConfig: Hashable, Sendable {
    /// The track_file's `file`.
    public var path: String
    /// `weight` (the FILE_CHECK's, else the track_file's, default 1), -254...254.
    public var weight: Int32
    /// `weight N reverse`.
    public var reverse: Bool
    /// `init_file [VALUE]` (default 0); nil: the file is left alone.
    public var initialValue: Int64?
    /// `init_file ... overwrite`.
    public var overwrite: Bool
    /// The real server's configured weight: the file's value × weight is added to it
    /// (`CheckOutcome.success(weight:)` carries the sum).
    public var realServerWeight: Int64

    public init(path: String, weight: Int32 = 1, reverse: Bool = false, initialValue: Int64? = nil, overwrite: Bool = false,
                realServerWeight: Int64 = 1) {
        self.realServerWeight = realServerWeight
        self.path = path
        self.weight = weight
        self.reverse = reverse
        self.initialValue = initialValue
        self.overwrite = overwrite
    }
}
