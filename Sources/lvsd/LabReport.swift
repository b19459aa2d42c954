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

    init(plan: LabPlan, engine: String, workers: Int) {
        id = plan.id
        mode = plan.mode.rawValue
        scheduler = plan.scheduler
        ipv6 = plan.ipv6
        self.engine = engine
        self.workers = workers
        responses = plan.realServers.map { (address: $0.address, count: 0) }
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
        return lines.joined(separator: "\n")
    }

    /// One JSON object: mode, scheduler, requests sent, failed requests, responses per real
    /// server address (and the knobs that produced them).
    var json: String {
        var responsesObject: [String: Int] = [:]
        for (address, count) in responses { responsesObject[address] = count }
        let object: [String: Any] = [
            "id": id, "mode": mode, "scheduler": scheduler, "ipv6": ipv6, "engine": engine, "workers": workers,
            "requests": requests, "failed": failed, "responses": responsesObject,
            "unexpected": unexpected.count,
        ]
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
