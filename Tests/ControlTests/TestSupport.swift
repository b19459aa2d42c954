import Control
import Core
import Testing
import Wire

/// The file name every test parses under, so messages read like the real thing.
let rulesFile = "rules.conf"

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

func mac(_ text: String) -> MACAddress {
    guard let address = MACAddress(text) else { fatalError("bad test MAC \(text)") }
    return address
}

func tcp(_ address: String, _ port: UInt16) -> ServiceKey { ServiceKey(.tcp, ip(address), port) }
func udp(_ address: String, _ port: UInt16) -> ServiceKey { ServiceKey(.udp, ip(address), port) }

/// Parses `lines` joined by newlines; a failure is recorded and yields an empty config.
func parse(_ lines: String..., sourceLocation: SourceLocation = #_sourceLocation) -> DirectorConfig {
    do {
        return try RulesFile.parse(lines.joined(separator: "\n"), file: rulesFile)
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        return DirectorConfig()
    }
}

/// The error parsing `lines` produces, or nil (recorded as an issue) when it parses.
func parseError(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        _ = try RulesFile.parse(lines.joined(separator: "\n"), file: rulesFile)
        Issue.record("expected an error, but the rules parsed", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The one service of `config` (recorded as an issue if there is not exactly one).
func onlyService(_ config: DirectorConfig, sourceLocation: SourceLocation = #_sourceLocation) -> VirtualServiceConfig {
    #expect(config.services.count == 1, sourceLocation: sourceLocation)
    return config.services.first ?? VirtualServiceConfig(key: tcp("0.0.0.0", 0))
}

/// `(known: rr, wrr, lc, wlc, sh)` as the parser lists schedulers, from the Core enum so
/// the tests keep passing as schedulers are added.
let knownSchedulers = SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")
