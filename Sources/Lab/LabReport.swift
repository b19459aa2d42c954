import Foundation

/// What a lab run observed, from the client and from the real servers, and how it is printed:
/// the spread per real server for each phase, ipvsadm's `-L -n` layout, and the one-object
/// JSON for scripts and tests (LabReport+Output.swift).
public struct LabReport {
    var id: String
    var mode: String
    var ipv6: Bool
    var engine: String
    var workers: Int
    var vip: String
    var vport: Int

    /// One phase: the scheduling it ran with, the TCP requests sent during it, and what lvsd
    /// said when it stopped at the end of it.
    struct Phase {
        var spec: LabPlan.Phase
        /// FullNAT: the LIP this phase's lvsd used (one per phase, see `LabPlan.localAddress(phase:)`).
        var localAddress: String?
        var requests = 0
        var failures: [String] = []
        /// Real server address → responses, in the plan's real-server order.
        var responses: [(address: String, count: Int)]
        /// Responses from no configured real server (should never happen).
        var unexpected: [String] = []
        var director: LabDirectorExit?

        var failed: Int { failures.count }

        /// Counts one response body ("rs2 198.18.1.12"); false when it names no real server.
        @discardableResult
        mutating func record(body: String) -> Bool {
            let words = body.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard words.count >= 2, let i = responses.firstIndex(where: { $0.address == String(words[1]) }) else {
                unexpected.append(body.trimmingCharacters(in: .whitespacesAndNewlines))
                return false
            }
            responses[i].count += 1
            return true
        }
    }
    /// The main phase first, then each `--then` phase in order.
    var phases: [Phase]

    /// The main phase (the top-level fields of the JSON).
    var main: Phase {
        get { phases[0] }
        set { phases[0] = newValue }
    }
    var requests: Int { main.requests }
    var failed: Int { main.failed }

    /// `--udp`: datagrams sent, lost, replies per real server, and the addresses replies came from.
    struct UDP {
        var sent = 0
        var lost = 0
        var responses: [(address: String, count: Int)]
        var unexpected = 0
        var replySources: [String] = []
    }
    var udp: UDP?

    /// `--transfer`: one download through the director, its hash against the served file's.
    struct Transfer {
        var bytes: Int
        var expectedSHA256: String
        var receivedSHA256: String
        var receivedBytes: Int
        var seconds: Double
        var error: String?
        var match: Bool { error == nil && receivedBytes == bytes && expectedSHA256 == receivedSHA256 }
    }
    var transfer: Transfer?
    /// `--transfer`: the same file uploaded through the director (HTTP PUT).
    var upload: Transfer?

    /// What each real server saw: the port it served on, whether its routing table reaches
    /// the client at all (FullNAT's must not), and the peer addresses its HTTP server and UDP
    /// responder logged (the client's for NAT, DR, TUN; the LIP for FullNAT).
    struct RealServer {
        var name: String
        var address: String
        var port: Int
        var routeToClient: Bool
        var httpPeers: [String] = []
        var udpPeers: [String] = []
    }
    var realServers: [RealServer] = []

    init(plan: LabPlan, engine: String, workers: Int) {
        id = plan.id
        mode = plan.mode.rawValue
        ipv6 = plan.ipv6
        self.engine = engine
        self.workers = workers
        vip = plan.vip
        vport = plan.vport
        phases = [Phase(spec: plan.phase, localAddress: plan.localAddress(phase: 1),
                        responses: plan.realServers.map { (address: $0.address, count: 0) })]
        if plan.udp { udp = UDP(responses: plan.realServers.map { (address: $0.address, count: 0) }) }
    }

    /// Starts the next phase with the same real servers and no responses yet.
    mutating func beginPhase(_ spec: LabPlan.Phase, localAddress: String?) {
        phases.append(Phase(spec: spec, localAddress: localAddress, responses: main.responses.map { (address: $0.address, count: 0) }))
    }

    /// No UDP part, or every datagram answered by a real server from the VIP.
    var udpOK: Bool {
        guard let udp else { return true }
        return udp.lost == 0 && udp.unexpected == 0 && udp.replySources.allSatisfy { $0 == vip }
    }

    /// Every phase answered every request from a configured real server, and the optional
    /// UDP and transfer parts passed.
    public var passed: Bool {
        phases.allSatisfy { $0.failed == 0 && $0.unexpected.isEmpty } && udpOK && transfer.map(\.match) != false
            && upload.map(\.match) != false
    }

    /// Counts one UDP reply (body "rs2 198.18.1.12" from `source`).
    mutating func recordUDP(body: String, source: String) {
        guard var u = udp else { return }
        let words = body.split(whereSeparator: { $0 == " " || $0 == "\n" })
        if words.count >= 2, let i = u.responses.firstIndex(where: { $0.address == String(words[1]) }) {
            u.responses[i].count += 1
        } else {
            u.unexpected += 1
        }
        if !u.replySources.contains(source) { u.replySources.append(source) }
        udp = u
    }
}
