/// What lvsd printed when the lab stopped it: its totals and named counters, its table in
/// `ipvsadm -L -n` layout, and whether it took its host settings (the nftables table) away.
/// Parsed from lvsd's own log lines (`LiveDirector.summary`, `RunCommand`), which stay the
/// source: lines this parser does not know are kept in `lines` and simply not counted.
struct LabDirectorExit: Equatable {
    /// Everything from "lvsd: stopping" on.
    var lines: [String]
    /// The totals line, keyed as it reads: "frames-in", "forwarded", "answered", "passed",
    /// "dropped", "connections".
    var totals: [String: Int] = [:]
    /// Every named counter line, keyed "passed REASON", "dropped REASON", "engine NAME".
    var counters: [String: Int] = [:]
    /// The table lvsd listed (ipvsadm -L -n layout).
    var listing: [String] = []
    /// lvsd said it removed its nftables table.
    var hostSettingsRemoved = false
    /// lvsd did not stop within its grace time after SIGTERM and had to be killed.
    var killed = false

    init(lines: [String], killed: Bool) {
        self.lines = lines
        self.killed = killed
        let marker = lines.firstIndex { $0.hasPrefix("lvsd: virtual services") }
        if let marker {
            listing = Array(lines[(marker + 1)...].prefix { !$0.hasPrefix("lvsd:") })
        }
        for line in lines[..<(marker ?? lines.count)] {
            if line.hasPrefix("lvsd: host: removed nftables table") { hostSettingsRemoved = true }
            if let range = line.range(of: "lvsd: totals: ") {
                for item in line[range.upperBound...].split(separator: ",") {
                    let words = item.split(separator: " ")
                    guard let last = words.last, let value = Int(last), words.count >= 2 else { continue }
                    totals[words.dropLast().joined(separator: "-")] = value
                }
            } else if line.hasPrefix("lvsd:   "), let colon = line.lastIndex(of: ":"),
                      let value = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) {
                let key = line[line.index(line.startIndex, offsetBy: 8)..<colon]
                counters[String(key)] = value
            }
        }
    }

    /// The counter lines as lvsd wrote them (between "stopping" and the listing).
    var counterLines: [String] {
        Array(lines.prefix { !$0.hasPrefix("lvsd: virtual services") })
    }

    var jsonObject: [String: Any] {
        ["totals": totals, "counters": counters, "hostSettingsRemoved": hostSettingsRemoved, "killed": killed]
    }
}
