import Foundation

/// What a lab run observed from the client, and how it is printed: the spread per real
/// server, ipvsadm's `-L -n` layout, and the one-object JSON for scripts and tests.
struct LabReport {
    var id: String
    var mode: String
    var scheduler: String
    var ipv6: Bool
    var engine: String
    var workers: Int
    var requests = 0
    var failures: [String] = []
    /// Real server address → responses, in the plan's real-server order.
    var responses: [(address: String, count: Int)]
    /// Responses from no configured real server (should never happen).
    var unexpected: [String] = []
    var weights: [Int]?
    var persistence: Int?

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

    init(plan: LabPlan, engine: String, workers: Int) {
        id = plan.id
        mode = plan.mode.rawValue
        scheduler = plan.scheduler
        ipv6 = plan.ipv6
        self.engine = engine
        self.workers = workers
        vip = plan.vip
        responses = plan.realServers.map { (address: $0.address, count: 0) }
        weights = plan.weights
        persistence = plan.persistence
        if plan.udp { udp = UDP(responses: responses) }
    }

    /// No UDP part, or every datagram answered by a real server from the VIP.
    var udpOK: Bool {
        guard let udp else { return true }
        return udp.lost == 0 && udp.unexpected == 0 && udp.replySources.allSatisfy { $0 == vip }
    }
    var vip = ""

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

    /// Per real server: "198.18.1.11  7  #######".
    var spreadText: String {
        var lines = ["Responses per real server (\(requests) requests, \(failed) failed):"]
        for (address, count) in responses {
            let name = address.padding(toLength: max(address.count, 16), withPad: " ", startingAt: 0)
            lines.append("  \(name) \(String(count).leftPadded(4))  \(String(repeating: "#", count: count))")
        }
        for body in unexpected { lines.append("  unexpected response: \(body)") }
        for failure in failures.prefix(5) { lines.append("  failed: \(failure)") }
        if failures.count > 5 { lines.append("  ... and \(failures.count - 5) more failures") }
        if let udp {
            lines.append("UDP replies per real server (\(udp.sent) datagrams, \(udp.lost) lost, replies from \(udp.replySources.joined(separator: ", "))):")
            for (address, count) in udp.responses {
                let name = address.padding(toLength: max(address.count, 16), withPad: " ", startingAt: 0)
                lines.append("  \(name) \(String(count).leftPadded(4))  \(String(repeating: "#", count: count))")
            }
            if udp.unexpected > 0 { lines.append("  \(udp.unexpected) replies named no real server") }
        }
        if let t = transfer {
            let rate = t.seconds > 0 ? String(format: "%.1f MB/s", Double(t.receivedBytes) / t.seconds / 1e6) : "-"
            lines.append("Transfer: \(t.receivedBytes)/\(t.bytes) bytes in \(String(format: "%.2f", t.seconds)) s (\(rate)), sha256 \(t.match ? "matches" : "MISMATCH") (\(t.receivedSHA256))\(t.error.map { ": \($0)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object: mode, scheduler, requests sent, failed requests, responses per real
    /// server address (and the knobs that produced them).
    var json: String {
        var responsesObject: [String: Int] = [:]
        for (address, count) in responses { responsesObject[address] = count }
        var object: [String: Any] = [
            "id": id, "mode": mode, "scheduler": scheduler, "ipv6": ipv6, "engine": engine, "workers": workers,
            "requests": requests, "failed": failed, "responses": responsesObject,
            "unexpected": unexpected.count,
        ]
        if let weights { object["weights"] = weights }
        if let persistence { object["persistent"] = persistence }
        if let udp {
            var per: [String: Int] = [:]
            for (address, count) in udp.responses { per[address] = count }
            object["udp"] = ["sent": udp.sent, "lost": udp.lost, "responses": per, "unexpected": udp.unexpected,
                             "replySources": udp.replySources] as [String: Any]
        }
        if let t = transfer {
            var o: [String: Any] = ["bytes": t.bytes, "receivedBytes": t.receivedBytes, "expectedSHA256": t.expectedSHA256,
                                    "receivedSHA256": t.receivedSHA256, "match": t.match, "seconds": t.seconds]
            if let e = t.error { o["error"] = e }
            object["transfer"] = o
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
