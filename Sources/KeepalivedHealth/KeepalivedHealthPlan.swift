import Control
import Core
import Health
import Wire

/// keepalived.conf's checker model (Control's `KeepalivedConfig`, inheritance already applied)
/// as a `HealthPlan` the health runner executes against `KeepalivedConfig.director`.
///
/// Per service of each `virtual_server` (a group yields one per member): `quorum`,
/// `hysteresis`, `sorry_server` (+ `_inhibit`, `_lvs_method`), `omega`, `quorum_up` /
/// `quorum_down`; per `real_server`: weight, `inhibit_on_failure`, `notify_up` /
/// `notify_down`, and its checkers. A real server's port follows `KeepalivedConfig.checkers`
/// (DR/TUN or unset: the service's). keepalived's inheritance of `virtualhost` (url, checker,
/// real server, virtual server) is resolved here.
///
/// What the health engine cannot do yet is reported, never silently dropped:
/// - FILE_CHECK is not run and fails closed: it becomes a checker that always fails, with
///   `alpha` so its server starts down, and a warning naming the block's file:line (a server a
///   check cannot vouch for must not get clients); BFD_CHECK is refused by the reader;
/// - `fast_recovery`, `fwmark`, `log_all_failures`, PCRE2-only `regex_options`, `regex_stack`
///   and an `SSL { }` block with certificates are ignored, with a warning naming the checker.
public enum KeepalivedHealthPlan {
    public struct Result: Sendable {
        public var plan: HealthPlan
        /// One sentence per setting the health engine ignores.
        public var warnings: [String]
    }

    public static func make(from config: KeepalivedConfig) throws(HealthConfigError) -> Result {
        var services: [ServiceHealthPlan] = []
        var warnings: [String] = []
        if config.ssl?.password != nil {
            warnings.append("the SSL block's password is ignored: give SSL_GET an unencrypted key file")
        }
        // keepalived ≥ 2.2's top-level `track_file NAME { ... }` (`vrrp_track_file` is its old
        // name), which FILE_CHECK refers to; the VRRP side keeps the blocks as written.
        var trackFiles: [String: KeepalivedStatement] = [:]
        for block in config.vrrp.other where block.name == "track_file" || block.name == "vrrp_track_file" {
            if let name = block.arguments.first?.text { trackFiles[name] = block }
        }
        for vs in config.virtualServers {
            for key in vs.services {
                var service = ServiceHealthPlan(key: key, quorum: vs.quorum, hysteresis: vs.hysteresis, omega: vs.omega,
                                                quorumUpScript: vs.quorumUp.map(script), quorumDownScript: vs.quorumDown.map(script))
                if let sorry = vs.sorryServer {
                    service.sorryServer = SorryServer(endpoint: Endpoint(sorry.address, sorry.port == 0 ? key.port : sorry.port),
                                                      method: sorry.method, inhibit: sorry.inhibit)
                }
                for rs in vs.realServers {
                    let port = rs.method == .directRouting || rs.method == .tunnel || rs.port == 0 ? key.port : rs.port
                    let endpoint = Endpoint(rs.address, port)
                    var plan = RealServerHealthPlan(endpoint: endpoint, weight: rs.weight, inhibitOnFailure: rs.inhibitOnFailure,
                                                    notifyUp: rs.notifyUp.map(script), notifyDown: rs.notifyDown.map(script))
                    for checker in rs.checkers {
                        let name = "\(checker.keyword) of real server \(endpoint) in VS \(key)"
                        if let mapped = try map(checker, service: key, realServer: endpoint, ssl: config.ssl, trackFiles: trackFiles,
                                                weight: Int64(rs.weight),
                                                virtualhost: rs.virtualhost ?? vs.virtualhost, name: name, warnings: &warnings) {
                            plan.checkers.append(mapped)
                        }
                    }
                    service.realServers.append(plan)
                }
                services.append(service)
            }
        }
        let plan = HealthPlan(services: services, scripts: scriptPolicy(config.globalDefs))
        let problems = plan.problems
        guard problems.isEmpty else { throw HealthConfigError(problems.joined(separator: "; ")) }
        return Result(plan: plan, warnings: warnings + plan.scriptWarnings)
    }

    /// `make`, then the runner's own validation against the file's director configuration:
    /// what the daemon asks before it swaps a (re)loaded file in, so a file whose checks cannot
    /// run is refused as a whole instead of running with no checks at all.
    public static func checked(from config: KeepalivedConfig) throws(HealthConfigError) -> Result {
        let result = try make(from: config)
        try HealthRunner.validate(plan: result.plan, base: config.director)
        return result
    }

    /// One checker, or nil (with a warning) for a kind the engine does not run.
    static func map(_ checker: KeepalivedChecker, service: ServiceKey, realServer: Endpoint, ssl: KeepalivedSSLContext? = nil,
                    trackFiles: [String: KeepalivedStatement] = [:], weight: Int64 = 1,
                    virtualhost: String?, name: String, warnings: inout [String]) throws(HealthConfigError) -> CheckerConfig? {
        let connection = checker.connection
        let target = CheckTarget(service: service, realServer: realServer, connectAddress: connection?.address,
                                 connectPort: connection?.port, bindAddress: connection?.bindAddress,
                                 bindPort: connection?.bindPort, bindInterface: connection?.bindInterface)
        let t = checker.timing
        let timing = CheckerTiming(delayLoop: t.delayLoop, connectTimeout: connection?.connectTimeout ?? .seconds(5),
                                   retry: Int(t.retry), delayBeforeRetry: t.delayBeforeRetry, warmup: t.warmup, alpha: t.alpha)
        if connection?.fwmark != nil { warnings.append("\(name): fwmark is ignored (probes are not marked)") }
        if checker.logAllFailures { warnings.append("\(name): log_all_failures is ignored (every failed attempt is reported as a retry line anyway)") }
        let spec: CheckerSpec
        switch checker.kind {
        case .tcp:
            spec = .tcp
        case .ping:
            spec = .ping
        case .http(let http):
            spec = .httpGet(try httpConfig(http, virtualhost: virtualhost, name: name, warnings: &warnings))
        case .ssl(let http):
            spec = .sslGet(try httpConfig(http, virtualhost: virtualhost, name: name, warnings: &warnings),
                           TLSOptions(enableSNI: http.enableSNI, sniName: http.sniName, caFile: ssl?.caFile,
                                      certificateFile: ssl?.certificateFile, keyFile: ssl?.keyFile))
        case .misc(let misc):
            spec = .misc(MiscCheckConfig(command: misc.script.arguments, user: misc.script.user, group: group(misc.script.group),
                                         timeout: misc.timeout > .zero ? misc.timeout : nil, dynamic: misc.dynamic))
        case .udp(let udp):
            spec = .udp(UDPCheckConfig(payload: udp.payload, requireReply: udp.requireReply,
                                       reply: udp.replyData.map { HexPattern(bytes: $0, wildcardMask: udp.replyMask) },
                                       minReplyLength: udp.minReplyLength, maxReplyLength: udp.maxReplyLength))
        case .dns(let dns):
            guard let type = DNSQueryType(rawValue: dns.type.uppercased()) else {
                throw HealthConfigError("\(name): unknown DNS query type \(dns.type)")
            }
            spec = .dns(DNSCheckConfig(type: type, name: dns.name))
        case .smtp(let smtp):
            spec = .smtp(SMTPCheckConfig(heloName: smtp.heloName))
        case .other(let statement) where statement.name == "FILE_CHECK":
            let file = try fileCheck(statement, trackFiles: trackFiles, realServerWeight: weight, name: name)
            // keepalived follows the file with inotify; lvsd reads it every second, no retries.
            let polled = CheckerTiming(delayLoop: .seconds(1), connectTimeout: .seconds(1), retry: 0, delayBeforeRetry: .seconds(1),
                                       warmup: .zero, alpha: t.alpha)
            return CheckerConfig(target: target, spec: .file(file), timing: polled)
        case .other:
            guard let kind = CheckerKind(rawValue: checker.keyword), !kind.isImplemented else {
                throw HealthConfigError("\(name): unknown checker kind \(checker.keyword)")
            }
            let location = checker.location.map { "\($0)" }
            warnings.append("\(location.map { "\($0): " } ?? "")\(name): \(checker.keyword) is not implemented by SwiftLVS; "
                            + "the real server starts DOWN and stays down (fail closed); replace it with a checker lvsd runs")
            var closed = timing
            closed.alpha = true
            return CheckerConfig(target: target, spec: .notImplemented(NotImplementedCheck(kind: kind, location: location)), timing: closed)
        }
        return CheckerConfig(target: target, spec: spec, timing: timing)
    }

    /// `FILE_CHECK { track_file NAME [weight N [reverse]] }` against the top-level
    /// `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`
    /// (keepalived check_file.c, trackers/track_file.c).
    static func fileCheck(_ statement: KeepalivedStatement, trackFiles: [String: KeepalivedStatement], realServerWeight: Int64,
                          name: String) throws(HealthConfigError) -> FileCheckConfig {
        func fail(_ at: KeepalivedStatement, _ sentence: String) -> HealthConfigError { HealthConfigError("\(at.location): \(name): \(sentence)") }
        func weight(_ option: KeepalivedStatement) throws(HealthConfigError) -> (Int32, Bool) {
            let words = option.arguments.map(\.text)
            guard (1...2).contains(words.count), let n = Int32(words[0]), (-254...254).contains(n), words.count == 1 || words[1] == "reverse" else {
                throw fail(option, "write 'weight N [reverse]' with N in -254...254")
            }
            return (n, words.count == 2)
        }
        var trackName: String?
        var own: (Int32, Bool)?
        for option in statement.block ?? [] {
            switch option.name {
            case "track_file":
                guard option.arguments.count == 1 else { throw fail(option, "write 'track_file NAME'") }
                trackName = option.arguments[0].text
            case "weight": own = try weight(option)
            default: throw fail(option, "FILE_CHECK reads track_file and weight, not '\(option.name)'")
            }
        }
        guard let trackName else { throw fail(statement, "FILE_CHECK needs 'track_file NAME'") }
        guard let definition = trackFiles[trackName] else {
            throw fail(statement, "no top-level 'track_file \(trackName) { file PATH }' block")
        }
        var config = FileCheckConfig(path: "", realServerWeight: realServerWeight)
        for option in definition.block ?? [] {
            switch option.name {
            case "file":
                guard option.arguments.count == 1, option.arguments[0].text.hasPrefix("/") else { throw fail(option, "write 'file /ABSOLUTE/PATH'") }
                config.path = option.arguments[0].text
            case "weight":
                (config.weight, config.reverse) = try weight(option)
            case "init_file":
                var words = option.arguments.map(\.text)
                if words.last == "overwrite" { config.overwrite = true; words.removeLast() }
                guard words.count <= 1, let value = words.isEmpty ? 0 : Int64(words[0]) else { throw fail(option, "write 'init_file [VALUE] [overwrite]'") }
                config.initialValue = value
            default:
                throw fail(option, "track_file reads file, weight and init_file, not '\(option.name)'")
            }
        }
        guard !config.path.isEmpty else { throw fail(definition, "track_file \(trackName) has no 'file PATH'") }
        if let own { (config.weight, config.reverse) = own }
        return config
    }

    static func httpConfig(_ http: KeepalivedHTTPCheck, virtualhost: String?, name: String,
                           warnings: inout [String]) throws(HealthConfigError) -> HTTPGetConfig {
        if http.fastRecovery { warnings.append("\(name): fast_recovery is ignored (every url is checked in each check already)") }
        var urls: [HTTPURLCheck] = []
        for url in http.urls {
            var regex: BodyRegex?
            if let pattern = url.regex {
                regex = BodyRegex(pattern: pattern, noMatch: url.regexNoMatch, minOffset: url.regexMinOffset ?? 0,
                                  maxOffset: url.regexMaxOffset, options: Set(url.regexOptions))
                if let ignored = regex?.ignoredOptions, !ignored.isEmpty {
                    warnings.append("\(name): url \(url.path): regex_options \(ignored.joined(separator: " ")) are PCRE2's and not applied (caseless, dotall, multiline, ungreedy and extended are)")
                }
                if url.regexStack != nil { warnings.append("\(name): url \(url.path): regex_stack is ignored (no PCRE2 JIT stack here)") }
            }
            var codes = HTTPStatusCodes()
            for range in url.statusCodes {
                guard HTTPStatusCodes.range.contains(Int(range.lowerBound)), HTTPStatusCodes.range.contains(Int(range.upperBound)) else {
                    throw HealthConfigError("\(name): url \(url.path): status code range \(range) is outside 100-599")
                }
                for code in range { codes.insert(Int(code)) }
            }
            var digest: MD5Digest?
            if let bytes = url.digest {
                guard let d = MD5Digest(bytes: bytes) else {
                    throw HealthConfigError("\(name): url \(url.path): a digest is \(MD5Digest.byteCount) bytes, not \(bytes.count)")
                }
                digest = d
            }
            urls.append(HTTPURLCheck(path: url.path, digest: digest, statusCodes: codes, virtualhost: url.virtualhost, regex: regex))
        }
        let version: HTTPProtocolVersion = switch http.protocolVersion {
        case .http10: .http10
        case .http10Close: .http10Close
        case .http11: .http11
        }
        return HTTPGetConfig(urls: urls, virtualhost: http.virtualhost ?? virtualhost, httpProtocol: version)
    }

    /// global_defs `script_user USER [GROUP]` and `enable_script_security` (the last one written wins).
    public static func scriptPolicy(_ globals: KeepalivedGlobalDefs) -> ScriptPolicy {
        var policy = ScriptPolicy()
        for option in globals.options {
            switch option.name {
            case "script_user":
                policy.user = option.arguments.first?.text
                policy.group = option.arguments.count > 1 ? group(option.arguments[1].text) : nil
            case "enable_script_security":
                policy.enforceSecurity = true
            default:
                break
            }
        }
        return policy
    }

    static func script(_ s: KeepalivedScript) -> ScriptCommand {
        ScriptCommand(s.arguments, user: s.user, group: group(s.group))
    }

    /// keepalived writes `:group` to also take the user's supplementary groups, which the
    /// spawner does for a named user anyway.
    static func group(_ written: String?) -> String? {
        guard let written else { return nil }
        let name = written.hasPrefix(":") ? String(written.dropFirst()) : written
        return name.isEmpty ? nil : name
    }
}
