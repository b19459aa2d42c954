import Core
import Wire

extension KeepalivedParser {
    static let realServerUsage = "real_server IP [PORT] { ... }"

    /// Every keyword `real_server` reads besides its checkers (check_parser.c).
    static let realServerKeywords: Set<String> = [
        "weight", "lvs_method", "uthreshold", "lthreshold", "inhibit_on_failure", "notify_up", "notify_down", "alpha",
        "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "virtualhost",
    ]

    /// Reads one `real_server` of `virtualServer` (whose own settings are complete): the
    /// virtual server's `weight`, `lvs_method`, `inhibit_on_failure` and `alpha` fill in what
    /// it leaves out, and its checkers inherit from both. Its port is settled per service by
    /// the director mapping; here it is the port written, or 0.
    mutating func parseRealServer(_ statement: KeepalivedStatement, of virtualServer: KeepalivedVirtualServer)
        throws(ConfigError) -> (KeepalivedRealServer, RealServerSite)
    {
        let header = try statement.argumentsAllowingBlock(1...2, Self.realServerUsage)
        let address = try KeepalivedValues.address(header[0], what: "real server")
        let written = try header.count > 1 ? KeepalivedValues.port(header[1], what: "real server") : 0
        var server = KeepalivedRealServer(address: address, port: written, weight: virtualServer.weight, method: virtualServer.method,
                                          tunnel: virtualServer.tunnel,
                                          inhibitOnFailure: virtualServer.inhibitOnFailure, alpha: virtualServer.alpha,
                                          virtualhost: virtualServer.virtualhost)
        var lowerWord: KeepalivedWord?
        var checkerStatements: [KeepalivedStatement] = []
        for option in statement.block ?? [] {
            switch option.name {
            case "weight":
                server.weight = Int32(try KeepalivedValues.number(option.value("weight N"), in: 0...65535, what: "weight"))
            case "lvs_method":
                (server.method, server.tunnel) = try Self.forwarding(option)
            case "uthreshold":
                server.upperThreshold = UInt32(try KeepalivedValues.number(option.value("uthreshold CONNECTIONS"), in: 0...UInt64(Int32.max), what: "uthreshold"))
            case "lthreshold":
                lowerWord = try option.value("lthreshold CONNECTIONS")
                server.lowerThreshold = UInt32(try KeepalivedValues.number(lowerWord!, in: 0...UInt64(Int32.max), what: "lthreshold"))
            case "inhibit_on_failure":
                server.inhibitOnFailure = try option.flag("inhibit_on_failure [BOOL]")
            case "notify_up":
                server.notifyUp = try Self.script(option)
            case "notify_down":
                server.notifyDown = try Self.script(option)
            case "alpha":
                server.alpha = try option.flag("alpha [BOOL]")
                server.checkerDefaults.alpha = server.alpha
            case "retry":
                server.checkerDefaults.retry = UInt32(try KeepalivedValues.number(option.value("retry N"), in: 1...UInt64(UInt32.max), what: "retry"))
            case "delay_before_retry":
                server.checkerDefaults.delayBeforeRetry = try KeepalivedValues.timer(option.value("delay_before_retry SECONDS"), what: "delay_before_retry")
            case "warmup":
                server.checkerDefaults.warmup = try KeepalivedValues.timer(option.value("warmup SECONDS"), what: "warmup")
            case "connect_timeout":
                server.checkerDefaults.connectTimeout = try Self.connectTimeout(option)
            case "delay_loop":
                server.checkerDefaults.delayLoop = try Self.delayLoop(option)
            case "virtualhost":
                server.virtualhost = try option.value("virtualhost NAME").text
            case let name where Self.checkerKeywords.contains(name):
                checkerStatements.append(option)
            case let name where KeepalivedKeywords.ignoredRealServer[name] != nil:
                warnings.append(option.location.warning("real_server option '\(name)' is ignored: \(KeepalivedKeywords.ignoredRealServer[name]!)"))
            default:
                let known = Self.realServerKeywords.union(Self.checkerKeywords).union(KeepalivedKeywords.ignoredRealServer.keys)
                throw KeepalivedKeywords.unknown(option, in: "real_server", known: known.sorted())
            }
        }
        // The kernel refuses it (ip_vs_add_dest), and so does the rules file's -y.
        if let lowerWord, server.lowerThreshold > server.upperThreshold {
            throw lowerWord.location.error("lthreshold \(server.lowerThreshold) is above uthreshold \(server.upperThreshold); give uthreshold at least \(server.lowerThreshold)")
        }

        let inherited = server.checkerDefaults.over(virtualServer.checkerDefaults)
        let virtualDelayLoop = virtualServer.checkerDefaults.delayLoop ?? KeepalivedDefaults.delayLoop
        for checkerStatement in checkerStatements {
            server.checkers += try parseCheckers(checkerStatement, inherited: inherited, virtualhost: server.virtualhost,
                                                 virtualServerDelayLoop: virtualDelayLoop)
        }
        let site = RealServerSite(address: header[0], port: written == 0 ? nil : written, portWord: header.count > 1 ? header[1] : nil)
        return (server, site)
    }
}
