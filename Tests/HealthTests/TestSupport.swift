import Core
import Health
import Testing
import Wire

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

func ep(_ text: String, _ port: UInt16) -> Endpoint { Endpoint(ip(text), port) }

let vip = ServiceKey(.tcp, ip("198.18.0.100"), 80)
let rs1 = ep("198.18.1.11", 80), rs2 = ep("198.18.1.12", 80), rs3 = ep("198.18.1.13", 80)

/// A NAT service on `vip` with `servers` at weight 1 unless given.
func baseConfig(_ servers: [Endpoint] = [rs1, rs2, rs3], weights: [Int32]? = nil) -> DirectorConfig {
    DirectorConfig(services: [VirtualServiceConfig(
        key: vip, scheduler: .roundRobin,
        realServers: servers.enumerated().map { i, e in
            RealServerConfig(address: e.address, port: e.port, weight: weights?[i] ?? 1, method: .nat)
        })])
}

/// Timing with no warmup, so checker anchors are exactly the start time.
func timing(delay: Int = 10, retry: Int = 1, beforeRetry: Duration = .seconds(1), alpha: Bool = false) -> CheckerTiming {
    CheckerTiming(delayLoop: .seconds(delay), connectTimeout: .seconds(2), retry: retry, delayBeforeRetry: beforeRetry,
                  warmup: .zero, alpha: alpha)
}

func tcpChecker(_ server: Endpoint, _ t: CheckerTiming = timing()) -> CheckerConfig {
    CheckerConfig(target: CheckTarget(service: vip, realServer: server), spec: .tcp, timing: t)
}

/// The weight each real server has in `config`'s first service (absent servers omitted).
func weights(_ config: DirectorConfig) -> [Endpoint: Int32] {
    Dictionary(uniqueKeysWithValues: config.services[0].realServers.map { ($0.endpoint, $0.weight) })
}

let refused = CheckOutcome.failure(CheckFailure("connection refused"))
