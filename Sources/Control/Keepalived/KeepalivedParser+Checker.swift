import Core
import Wire

extension KeepalivedParser {
    static let checkerKeywords: Set<String> = [
        "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "PING_CHECK", "UDP_CHECK", "DNS_CHECK", "SMTP_CHECK", "BFD_CHECK", "FILE_CHECK",
    ]

    /// Options of every checker but MISC_CHECK (check_api.c `install_checker_common_keywords(true)`).
    static let connectionKeywords: Set<String> = ["connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark"]
    /// Options of every checker (`install_checker_common_keywords`).
    static let timingKeywords: Set<String> = ["retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures"]
    static let httpKeywords: Set<String> = ["nb_get_retry", "virtualhost", "http_protocol", "enable_sni", "sni_name", "fast_recovery", "url"]
    static let urlKeywords: Set<String> = [
        "path", "digest", "status_code", "virtualhost", "regex", "regex_no_match", "regex_options", "regex_min_offset",
        "regex_max_offset", "regex_stack",
    ]
    static let miscKeywords: Set<String> = ["misc_path", "misc_timeout", "misc_dynamic", "user"]
    static let udpKeywords: Set<String> = ["payload", "require_reply", "min_reply_length", "max_reply_length"]
    static let dnsKeywords: Set<String> = ["type", "name"]
    static let smtpKeywords: Set<String> = ["helo_name", "host"]
    /// What SMTP_CHECK's deprecated `host { }` sub-block reads.
    static let smtpHostKeywords: Set<String> = ["connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark"]
    /// pcre2 options `regex_options` accepts (check_http.c `regex_options`).
    static let regexOptionNames: Set<String> = [
        "allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall", "dupnames", "extended",
        "firstline", "match_unset_backref", "multiline", "never_ucp", "never_utf", "no_auto_capture", "no_auto_possess",
        "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy", "utf", "never_backslash_c", "alt_circumflex",
        "alt_verbnames", "use_offset_limit",
    ]

    /// The keywords a checker block of `kind` reads.
    static func checkerOptions(_ kind: String) -> Set<String> {
        switch kind {
        case "MISC_CHECK": timingKeywords.union(miscKeywords)
        case "HTTP_GET": timingKeywords.union(connectionKeywords).union(httpKeywords)
        case "SSL_GET": timingKeywords.union(connectionKeywords).union(httpKeywords).union(["tls_compliant"])
        case "UDP_CHECK": timingKeywords.union(connectionKeywords).union(udpKeywords)
        case "DNS_CHECK": timingKeywords.union(connectionKeywords).union(dnsKeywords)
        case "SMTP_CHECK": timingKeywords.union(connectionKeywords).union(smtpKeywords)
        default: timingKeywords.union(connectionKeywords)
        }
    }

    /// Reads one checker block into its checkers: one, except for SMTP_CHECK with keepalived's
    /// deprecated `host { connect_ip ...; connect_port ...; bindto ... }` sub-blocks, each of
    /// which is its own SMTP_CHECK with the block's other settings (check_smtp.c
    /// smtp_check_end_handler; the checker's own connection is checked too only when it sets
    /// connect_ip, connect_port or bindto itself).
    mutating func parseCheckers(_ statement: KeepalivedStatement, inherited: KeepalivedCheckerDefaults, virtualhost: String?,
                                virtualServerDelayLoop: Duration) throws(ConfigError) -> [KeepalivedChecker]
    {
        let hosts = statement.name == "SMTP_CHECK" ? (statement.block ?? []).filter { $0.name == "host" } : []
        guard !hosts.isEmpty else {
            return [try parseChecker(statement, inherited: inherited, virtualhost: virtualhost, virtualServerDelayLoop: virtualServerDelayLoop)]
        }
        warnings.append(statement.location.warning("SMTP_CHECK host blocks are deprecated (keepalived says so too); each runs as its own SMTP_CHECK: write one SMTP_CHECK per destination instead"))
        var own = statement
        own.block = statement.block?.filter { $0.name != "host" }
        var out: [KeepalivedChecker] = []
        if own.block?.contains(where: { ["connect_ip", "connect_port", "bindto"].contains($0.name) }) == true {
            out.append(try parseChecker(own, inherited: inherited, virtualhost: virtualhost, virtualServerDelayLoop: virtualServerDelayLoop))
        }
        for host in hosts {
            _ = try host.argumentsAllowingBlock(0...0, "host")
            for option in try host.contents("host") where !Self.smtpHostKeywords.contains(option.name) {
                throw KeepalivedKeywords.unknown(option, in: "host", known: Self.smtpHostKeywords.sorted())
            }
            var one = own
            one.block = (own.block ?? []) + (host.block ?? [])
            var checker = try parseChecker(one, inherited: inherited, virtualhost: virtualhost, virtualServerDelayLoop: virtualServerDelayLoop)
            checker.location = host.location
            out.append(checker)
        }
        return out
    }

    /// Reads one checker block. `inherited` is the real server's checker options over the
    /// virtual server's; `virtualhost` the real server's (or virtual server's) Host.
    mutating func parseChecker(_ statement: KeepalivedStatement, inherited: KeepalivedCheckerDefaults, virtualhost: String?,
                               virtualServerDelayLoop: Duration) throws(ConfigError) -> KeepalivedChecker
    {
        let kind = statement.name
        _ = try statement.argumentsAllowingBlock(0...0, kind)
        if kind == "BFD_CHECK" {
            throw statement.location.error("BFD_CHECK is not supported: lvsd runs no BFD sessions (keepalived's bfd_instance); check the real server with TCP_CHECK, PING_CHECK or HTTP_GET instead")
        }
        if let reason = KeepalivedKeywords.rawCheckers[kind] {
            warnings.append(statement.location.warning("\(kind): \(reason)"))
            return KeepalivedChecker(kind: .other(statement), connection: nil, timing: Self.timing(inherited, kind: kind),
                                     location: statement.location)
        }
        let known = Self.checkerOptions(kind)
        var own = KeepalivedCheckerDefaults()
        var connection = KeepalivedCheckerConnection()
        var connectIP: KeepalivedWord?
        var bindto: KeepalivedWord?
        var logAllFailures = false
        var http = KeepalivedHTTPCheck(urls: [], virtualhost: virtualhost)
        var miscCommand: KeepalivedStatement?
        var miscUser: [KeepalivedWord] = []
        var miscTimeout: Duration?
        var miscDynamic = false
        var udp = KeepalivedUDPCheck()
        var udpLengths: KeepalivedStatement?
        var dns = KeepalivedDNSCheck()
        var smtp = KeepalivedSMTPCheck()

        for option in try statement.contents(kind) {
            guard known.contains(option.name) else {
                throw KeepalivedKeywords.unknown(option, in: kind, known: known.sorted())
            }
            switch option.name {
            // Timing, every kind.
            case "retry":
                own.retry = UInt32(try KeepalivedValues.number(option.value("retry N"), in: 0...UInt64(UInt32.max), what: "retry"))
            case "nb_get_retry":
                own.retry = UInt32(try KeepalivedValues.number(option.value("nb_get_retry N"), in: 0...UInt64(UInt32.max), what: "nb_get_retry"))
                warnings.append(option.location.warning("'nb_get_retry' is deprecated; keepalived and lvsd read it as 'retry', write that instead"))
            case "delay_before_retry":
                own.delayBeforeRetry = try KeepalivedValues.timer(option.value("delay_before_retry SECONDS"), what: "delay_before_retry")
            case "warmup":
                own.warmup = try KeepalivedValues.timer(option.value("warmup SECONDS"), what: "warmup")
            case "delay_loop":
                own.delayLoop = try Self.delayLoop(option)
            case "alpha":
                own.alpha = try option.flag("alpha [BOOL]")
            case "log_all_failures":
                logAllFailures = try option.flag("log_all_failures [BOOL]")
            // Connection, every kind but MISC_CHECK.
            case "connect_ip":
                connectIP = try option.value("connect_ip IP")
                connection.address = try KeepalivedValues.address(connectIP!, what: "connect_ip")
            case "connect_port":
                connection.port = UInt16(try KeepalivedValues.number(option.value("connect_port PORT"), in: 1...65535, what: "connect_port"))
            case "bindto":
                bindto = try option.value("bindto IP")
                connection.bindAddress = try KeepalivedValues.address(bindto!, what: "bindto")
            case "bind_port":
                connection.bindPort = UInt16(try KeepalivedValues.number(option.value("bind_port PORT"), in: 1...65535, what: "bind_port"))
            case "bind_if":
                let word = try option.value("bind_if INTERFACE")
                guard !word.text.isEmpty, word.text.count <= DirectorSettingLines.maximumInterfaceNameLength else {
                    throw word.location.error("'\(word.text)' is not a usable interface name; Linux names have 1 to \(DirectorSettingLines.maximumInterfaceNameLength) characters")
                }
                connection.bindInterface = word.text
            case "connect_timeout":
                own.connectTimeout = try Self.connectTimeout(option)
            case "fwmark":
                connection.fwmark = UInt32(try KeepalivedValues.number(option.value("fwmark N"), in: 0...UInt64(UInt32.max), what: "fwmark"))
            // HTTP_GET and SSL_GET.
            case "virtualhost":
                http.virtualhost = try option.value("virtualhost NAME").text
            case "http_protocol":
                let word = try option.value("http_protocol 1.0|1.0C|1.1")
                guard let version = KeepalivedHTTPCheck.ProtocolVersion(rawValue: word.text == "1.0c" ? "1.0C" : word.text) else {
                    throw word.location.error("invalid http_protocol '\(word.text)'; give 1.0, 1.0C or 1.1")
                }
                http.protocolVersion = version
            case "enable_sni":
                http.enableSNI = try option.flag("enable_sni [BOOL]")
            case "sni_name":
                http.sniName = try option.arguments(0...1, "sni_name [NAME]").first?.text
                http.enableSNI = true
            case "fast_recovery":
                http.fastRecovery = try option.flag("fast_recovery [BOOL]")
            case "tls_compliant":
                http.tlsCompliant = try option.flag("tls_compliant [BOOL]")
            case "url":
                http.urls.append(try parseURL(option, ssl: kind == "SSL_GET"))
            // MISC_CHECK.
            case "misc_path":
                guard try option.arguments(1...1, "misc_path \"COMMAND [ARGS]\"")[0].text.isEmpty == false else {
                    throw option.arguments[0].location.error("'misc_path' has an empty command")
                }
                miscCommand = option
            case "misc_timeout":
                let seconds = try KeepalivedValues.number(option.value("misc_timeout SECONDS"), in: 0...4294, what: "misc_timeout")
                miscTimeout = seconds == 0 ? nil : .seconds(Int64(seconds))
            case "misc_dynamic":
                miscDynamic = try option.flag("misc_dynamic")
            case "user":
                miscUser = try option.arguments(1...2, "user USER [[:]GROUP]")
            // UDP_CHECK.
            case "payload":
                _ = try option.arguments(1...Int.max, "payload HEX")
                udp.payload = try KeepalivedValues.hexBytes(option.arguments, wildcards: false, what: "UDP_CHECK payload").data
            case "require_reply":
                udp.requireReply = true
                if !(try option.arguments(0...Int.max, "require_reply [HEX]")).isEmpty {
                    let (data, mask) = try KeepalivedValues.hexBytes(option.arguments, wildcards: true, what: "UDP_CHECK reply")
                    udp.replyData = data
                    udp.replyMask = mask
                }
            case "min_reply_length":
                udp.minReplyLength = Int(try KeepalivedValues.number(option.value("min_reply_length N"), in: 0...65535, what: "min_reply_length"))
                udpLengths = option
            case "max_reply_length":
                udp.maxReplyLength = Int(try KeepalivedValues.number(option.value("max_reply_length N"), in: 0...65535, what: "max_reply_length"))
                udpLengths = option
            // DNS_CHECK.
            case "type":
                let word = try option.value("type A|NS|CNAME|SOA|MX|TXT|AAAA")
                guard KeepalivedDNSCheck.types.contains(word.text.uppercased()) else {
                    throw word.location.error("unknown DNS_CHECK type '\(word.text)'; give one of \(KeepalivedDNSCheck.types.joined(separator: ", "))")
                }
                dns.type = word.text.uppercased()
            case "name":
                let word = try option.value("name DOMAIN")
                if word.text.contains("..") || (word.text.hasPrefix(".") && word.text != ".") || word.text.isEmpty {
                    throw word.location.error("DNS_CHECK name '\(word.text)' has an empty label")
                }
                dns.name = word.text
            // SMTP_CHECK (`host` blocks were split off by parseCheckers).
            case "host":
                throw option.location.error("a host block inside SMTP_CHECK's host block is not allowed")
            case "helo_name":
                let word = try option.value("helo_name NAME")
                guard !word.text.isEmpty, !word.text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) else {
                    throw word.location.error("SMTP_CHECK helo_name '\(word.text)' must be one word")
                }
                smtp.heloName = word.text
            default:
                // checkerOptions lists only handled keywords; stay an error, never a crash.
                throw KeepalivedKeywords.unknown(option, in: kind, known: known.sorted())
            }
        }

        if let connectIP, let bindto, connection.address!.isIPv4 != connection.bindAddress!.isIPv4 {
            throw bindto.location.error("bindto \(bindto.text) and connect_ip \(connectIP.text) are of different address families")
        }
        let chain = own.over(inherited)
        let timing = Self.timing(chain, kind: kind)
        connection.connectTimeout = chain.connectTimeout ?? KeepalivedDefaults.connectTimeout

        let checkerKind: KeepalivedChecker.Kind
        switch kind {
        case "TCP_CHECK": checkerKind = .tcp
        case "PING_CHECK": checkerKind = .ping
        case "HTTP_GET", "SSL_GET":
            guard !http.urls.isEmpty else {
                throw statement.location.error("\(kind) needs at least one url block; write 'url { path / }'")
            }
            checkerKind = kind == "HTTP_GET" ? .http(http) : .ssl(http)
        case "MISC_CHECK":
            guard let miscCommand else {
                throw statement.location.error("MISC_CHECK needs 'misc_path \"COMMAND [ARGS]\"'")
            }
            let script = KeepalivedScript(command: miscCommand.arguments[0].text, user: miscUser.first?.text,
                                          group: miscUser.count > 1 ? miscUser[1].text : nil)
            let misc = KeepalivedMiscCheck(script: script, timeout: miscTimeout ?? virtualServerDelayLoop, dynamic: miscDynamic)
            return KeepalivedChecker(kind: .misc(misc), connection: nil, timing: timing, logAllFailures: logAllFailures,
                                     location: statement.location)
        case "UDP_CHECK":
            if udp.minReplyLength > udp.maxReplyLength, let udpLengths {
                warnings.append(udpLengths.location.warning("UDP_CHECK min_reply_length \(udp.minReplyLength) is above max_reply_length \(udp.maxReplyLength); the check will always fail"))
            }
            checkerKind = .udp(udp)
        case "SMTP_CHECK":
            checkerKind = .smtp(smtp)
        default:
            checkerKind = .dns(dns)
        }
        return KeepalivedChecker(kind: checkerKind, connection: connection, timing: timing, logAllFailures: logAllFailures,
                                 location: statement.location)
    }

    /// A checker's timing from its inherited options and its kind's defaults
    /// (check_api.c `queue_checker`; check_http.c, check_misc.c, check_dns.c handlers).
    static func timing(_ options: KeepalivedCheckerDefaults, kind: String) -> KeepalivedCheckerTiming {
        let delayLoop = options.delayLoop ?? KeepalivedDefaults.delayLoop
        let defaultRetry: UInt32 = kind == "MISC_CHECK" ? 0 : kind == "DNS_CHECK" ? 3 : 1
        let defaultDelayBeforeRetry: Duration = switch kind {
        case "HTTP_GET", "SSL_GET": .seconds(3)
        case "DNS_CHECK": delayLoop
        default: .seconds(1)
        }
        return KeepalivedCheckerTiming(delayLoop: delayLoop, retry: options.retry ?? defaultRetry,
                                       delayBeforeRetry: options.delayBeforeRetry ?? defaultDelayBeforeRetry,
                                       warmup: options.warmup ?? delayLoop, alpha: options.alpha ?? false)
    }

    /// `url { path ...; digest ...; status_code ...; ... }` (check_http.c `url_handler` and friends).
    private func parseURL(_ statement: KeepalivedStatement, ssl: Bool) throws(ConfigError) -> KeepalivedURL {
        _ = try statement.argumentsAllowingBlock(0...0, "url")
        let known = ssl ? Self.urlKeywords.union(["tls_compliant"]) : Self.urlKeywords
        var path: String?
        var url = KeepalivedURL(path: "")
        var codes: [ClosedRange<UInt16>] = []
        for option in try statement.contents("url") {
            switch option.name {
            case "path":
                path = try option.value("path /PATH").text
            case "digest":
                let word = try option.value("digest MD5-HEX")
                guard word.text.count == 32, word.text.allSatisfy(\.isHexDigit) else {
                    throw word.location.error("digest '\(word.text)' is not an MD5 digest; give the 32 hex digits genhash prints")
                }
                let digits = Array(word.text)
                url.digest = stride(from: 0, to: 32, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
            case "status_code":
                for word in try option.arguments(1...Int.max, "status_code CODE|FROM-TO ...") {
                    codes.append(try Self.statusCodes(word))
                }
            case "virtualhost":
                url.virtualhost = try option.value("virtualhost NAME").text
            case "regex":
                url.regex = try option.value("regex PATTERN").text
            case "regex_no_match":
                try option.bare("regex_no_match")
                url.regexNoMatch = true
            case "regex_options":
                for word in try option.arguments(1...Int.max, "regex_options OPTION ...") {
                    guard Self.regexOptionNames.contains(word.text) else {
                        throw word.location.error("unknown regex option '\(word.text)' (known: \(Self.regexOptionNames.sorted().joined(separator: ", ")))")
                    }
                    url.regexOptions.append(word.text)
                }
            case "regex_min_offset":
                url.regexMinOffset = Int(try KeepalivedValues.number(option.value("regex_min_offset N"), in: 0...UInt64(Int32.max), what: "regex_min_offset"))
            case "regex_max_offset":
                url.regexMaxOffset = Int(try KeepalivedValues.number(option.value("regex_max_offset N"), in: 0...UInt64(Int32.max), what: "regex_max_offset"))
            case "regex_stack":
                let words = try option.arguments(2...2, "regex_stack START MAX")
                let start = Int(try KeepalivedValues.number(words[0], in: 0...UInt64(Int32.max), what: "regex stack start"))
                let maximum = Int(try KeepalivedValues.number(words[1], in: UInt64(start)...UInt64(Int32.max), what: "regex stack maximum"))
                url.regexStack = start...maximum
            case "tls_compliant" where ssl:
                url.tlsCompliant = try option.flag("tls_compliant [BOOL]")
            default:
                throw KeepalivedKeywords.unknown(option, in: "url", known: known.sorted())
            }
        }
        guard let path else { throw statement.location.error("url needs a 'path', such as 'path /'") }
        url.path = path
        if !codes.isEmpty { url.statusCodes = codes }
        if url.regex == nil, url.regexNoMatch || !url.regexOptions.isEmpty || url.regexMinOffset != nil || url.regexMaxOffset != nil || url.regexStack != nil {
            throw statement.location.error("url has regex options but no 'regex PATTERN'")
        }
        return url
    }

    /// `200` or `200-299`, within 100-599 (`HTTP_STATUS_CODE_MIN/MAX`).
    static func statusCodes(_ word: KeepalivedWord) throws(ConfigError) -> ClosedRange<UInt16> {
        let parts = word.text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts.map { UInt16($0) }
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }), numbers.allSatisfy({ $0 != nil && (100...599).contains($0!) }),
              numbers.first!! <= numbers.last!!
        else {
            throw word.location.error("invalid HTTP status code '\(word.text)'; give a code or a range such as 200-299, within 100-599")
        }
        return numbers.first!!...numbers.last!!
    }
}
