import Foundation

/// The lab's two outputs: tables for people, one JSON object for scripts and tests.
extension LabReport {
    private static func bars(_ responses: [(address: String, count: Int)]) -> [String] {
        responses.map { address, count in
            let name = address.padding(toLength: max(address.count, 16), withPad: " ", startingAt: 0)
            return "  \(name) \(String(count).leftPadded(4))  \(String(repeating: "#", count: count))"
        }
    }

    /// Per phase: "198.18.1.11  7  #######", lvsd's table and counters when it stopped; then
    /// UDP, the transfer and what the real servers saw.
    public var text: String {
        var lines: [String] = []
        for (n, phase) in phases.enumerated() {
            let title = phases.count == 1 ? "" : "Phase \(n + 1) (\(phase.spec.spec)): "
            if !lines.isEmpty { lines.append("") }
            lines.append("\(title)Responses per real server (\(phase.requests) requests, \(phase.failed) failed):")
            lines += Self.bars(phase.responses)
            for body in phase.unexpected { lines.append("  unexpected response: \(body)") }
            for failure in phase.failures.prefix(5) { lines.append("  failed: \(failure)") }
            if phase.failures.count > 5 { lines.append("  ... and \(phase.failures.count - 5) more failures") }
            if n == 0 { lines += extrasText }
            if let exit = phase.director {
                if !exit.listing.isEmpty {
                    lines.append("")
                    lines.append("Director's connection table when it stopped (lvsd, ipvsadm -L -n layout):")
                    lines += exit.listing
                }
                if !exit.counterLines.isEmpty {
                    lines.append("")
                    lines.append("Director's counters at exit (lvsd's own words):")
                    lines += exit.counterLines.map { "  \($0)" }
                }
            }
        }
        if !realServers.isEmpty {
            lines.append("")
            lines.append("What the real servers saw:")
            for rs in realServers {
                let peers = (rs.httpPeers + rs.udpPeers.filter { !rs.httpPeers.contains($0) }).joined(separator: ", ")
                lines.append("  \(rs.name) \(rs.address) port \(rs.port), \(rs.routeToClient ? "has a route" : "no route") to the client, peers: \(peers.isEmpty ? "-" : peers)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private var extrasText: [String] {
        var lines: [String] = []
        if let udp {
            lines.append("UDP replies per real server (\(udp.sent) datagrams, \(udp.lost) lost, replies from \(udp.replySources.joined(separator: ", "))):")
            lines += Self.bars(udp.responses)
            if udp.unexpected > 0 { lines.append("  \(udp.unexpected) replies named no real server") }
        }
        for (label, transfer) in [("Transfer (download)", transfer), ("Transfer (upload)", upload)] {
            guard let t = transfer else { continue }
            let rate = t.seconds > 0 ? String(format: "%.1f MB/s", Double(t.receivedBytes) / t.seconds / 1e6) : "-"
            lines.append("\(label): \(t.receivedBytes)/\(t.bytes) bytes in \(String(format: "%.2f", t.seconds)) s (\(rate)), sha256 \(t.match ? "matches" : "MISMATCH") (\(t.receivedSHA256))\(t.error.map { ": \($0)" } ?? "")")
        }
        return lines
    }

    private static func object(_ responses: [(address: String, count: Int)]) -> [String: Int] {
        var object: [String: Int] = [:]
        for (address, count) in responses { object[address] = count }
        return object
    }

    private static func object(_ phase: Phase) -> [String: Any] {
        var object: [String: Any] = [
            "spec": phase.spec.spec, "scheduler": phase.spec.scheduler, "requests": phase.requests,
            "failed": phase.failed, "responses": Self.object(phase.responses), "unexpected": phase.unexpected.count,
        ]
        if let weights = phase.spec.weights { object["weights"] = weights }
        if let persistence = phase.spec.persistence { object["persistent"] = persistence }
        if let exit = phase.director { object["director"] = exit.jsonObject }
        if let lip = phase.localAddress { object["localAddress"] = lip }
        return object
    }

    /// One JSON object: mode, scheduler, requests sent, failed requests, responses per real
    /// server address (the main phase's, at the top level, with the knobs that produced them),
    /// then `phases` (every phase, main first), `udp`, `transfer` and `realServers`.
    public var json: String {
        var object = Self.object(main)
        object.removeValue(forKey: "spec")
        object.removeValue(forKey: "director")
        object.removeValue(forKey: "localAddress")
        object.merge([
            "id": id, "mode": mode, "ipv6": ipv6, "engine": engine, "workers": workers, "vip": vip, "vport": vport,
            "phases": phases.map(Self.object),
            "realServers": realServers.map { rs -> [String: Any] in
                ["name": rs.name, "address": rs.address, "port": rs.port, "routeToClient": rs.routeToClient,
                 "httpPeers": rs.httpPeers, "udpPeers": rs.udpPeers]
            },
        ]) { _, new in new }
        if let udp {
            object["udp"] = ["sent": udp.sent, "lost": udp.lost, "responses": Self.object(udp.responses), "unexpected": udp.unexpected,
                             "replySources": udp.replySources] as [String: Any]
        }
        for (key, transfer) in [("transfer", transfer), ("upload", upload)] {
            guard let t = transfer else { continue }
            var o: [String: Any] = ["bytes": t.bytes, "receivedBytes": t.receivedBytes, "expectedSHA256": t.expectedSHA256,
                                    "receivedSHA256": t.receivedSHA256, "match": t.match, "seconds": t.seconds]
            if let e = t.error { o["error"] = e }
            object[key] = o
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
