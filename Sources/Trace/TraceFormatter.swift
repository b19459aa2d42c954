import Core
import Wire

/// Renders decoded frames as the before/after teaching view, and the director's verdict
/// and connection decision as sentences.
///
/// ```
///     layer   field     before              after
///   * eth     dst       02:00:00:00:00:0a   02:00:00:00:01:0b
///     ipv4    src       198.18.0.1          198.18.0.1
///   * ipv4    dst       198.18.0.10         198.18.1.11
/// ```
///
/// Marks: `*` changed, `+` only after (a header the director added, as TUN's outer IPv4
/// header), `-` only before (a header the director removed or replaced). Fields match by
/// layer and name (`Field.key`), so an IPIP inner `ipv4` lines up with the original one.
public enum TraceFormatter {
    /// One line of the comparison.
    public struct Row: Hashable, Sendable {
        public enum Change: Hashable, Sendable { case same, changed, added, removed }
        public var layer: String
        public var name: String
        public var before: String?
        public var after: String?

        public var change: Change {
            switch (before, after) {
            case let (b?, a?): b == a ? .same : .changed
            case (nil, _?): .added
            default: .removed
            }
        }

        var mark: String {
            switch change {
            case .same: " "
            case .changed: "*"
            case .added: "+"
            case .removed: "-"
            }
        }
    }

    /// Matches `before` and `after` by key, in `after`'s order, with fields only `before` has
    /// kept where they stood relative to the matched ones.
    public static func compare(before: [Field], after: [Field]) -> [Row] {
        var beforeIndex: [String: Int] = [:]
        for (i, f) in before.enumerated() where beforeIndex[f.key] == nil { beforeIndex[f.key] = i }
        let afterKeys = Set(after.map(\.key))
        var rows: [Row] = []
        var next = 0
        func flushRemoved(upTo end: Int) {
            guard next < end else { return }
            for f in before[next..<end] where !afterKeys.contains(f.key) {
                rows.append(Row(layer: f.layer, name: f.name, before: f.value, after: nil))
            }
            next = end
        }
        for f in after {
            let match = beforeIndex[f.key]
            if let k = match, k >= next { flushRemoved(upTo: k); next = k + 1 }
            rows.append(Row(layer: f.layer, name: f.name, before: match.map { before[$0].value }, after: f.value))
        }
        flushRemoved(upTo: before.count)
        return rows
    }

    /// The comparison as an aligned table, each line starting with `indent`.
    public static func table(_ rows: [Row], indent: String = "    ") -> String {
        let header = Row(layer: "layer", name: "field", before: "before", after: "after")
        let all = [header] + rows
        let layerWidth = all.map(\.layer.count).max() ?? 0
        let nameWidth = all.map(\.name.count).max() ?? 0
        let beforeWidth = all.map { ($0.before ?? "").count }.max() ?? 0
        var lines: [String] = []
        for (i, row) in all.enumerated() {
            let mark = i == 0 ? " " : row.mark
            let line = indent + mark + " " + pad(row.layer, layerWidth) + "  " + pad(row.name, nameWidth) + "  "
                + pad(row.before ?? "", beforeWidth) + "  " + (row.after ?? "")
            lines.append(trimTrailing(line))
        }
        return lines.joined(separator: "\n")
    }

    /// Before and after of one frame, decoded and compared.
    public static func comparison(before: [UInt8], after: [UInt8], indent: String = "    ") -> String {
        table(compare(before: FrameFields.decode(before), after: FrameFields.decode(after)), indent: indent)
    }

    /// The fields of a frame that was not sent on (dropped or passed): one value column.
    public static func fields(_ fields: [Field], indent: String = "    ") -> String {
        let layerWidth = max(5, fields.map(\.layer.count).max() ?? 0)
        let nameWidth = max(5, fields.map(\.name.count).max() ?? 0)
        let header = indent + "  " + pad("layer", layerWidth) + "  " + pad("field", nameWidth) + "  value"
        return ([header] + fields.map {
            trimTrailing(indent + "  " + pad($0.layer, layerWidth) + "  " + pad($0.name, nameWidth) + "  " + $0.value)
        }).joined(separator: "\n")
    }

    // MARK: Director decisions

    /// `forward on eth1`, `answer on eth0`, `pass (not-for-director)`, `drop (no-connection)`.
    public static func verdict(_ verdict: Verdict, interfaces: [InterfaceConfig]) -> String {
        func name(_ i: Int) -> String { i < interfaces.count ? interfaces[i].name : "interface \(i)" }
        switch verdict {
        case .forward(let i): return "forward on \(name(i))"
        case .answer(let i): return "answer on \(name(i))"
        case .pass(let reason): return "pass (\(reason))"
        case .drop(let reason): return "drop (\(reason))"
        }
    }

    /// What the connection table and scheduler did, or nil when no connection was involved.
    ///
    /// `new connection 198.18.0.1:40000 → 198.18.0.10:80 scheduled to 198.18.1.11:8080 (Masq), state NONE → SYN_RECV`
    public static func decision(_ event: PacketEvent, connection c: Connection?) -> String? {
        guard event.direction != .none, let c else { return nil }
        let client = Endpoint(c.clientAddress, c.clientPort)
        let virtual = Endpoint(c.virtualAddress, c.virtualPort)
        let server = Endpoint(c.destinationAddress, c.destinationPort)
        let local = c.method == .fullNAT ? " from local address \(Endpoint(c.localAddress, c.localPort))" : ""
        let state = event.stateBefore == event.stateAfter
            ? "state \(event.stateAfter)" : "state \(event.stateBefore) → \(event.stateAfter)"
        let tuple = "\(c.proto) \(client) → \(virtual)"
        switch event.direction {
        case .fromClient where event.newConnection:
            let how = event.viaTemplate ? "sent by its persistence template to" : "scheduled to"
            return "new connection \(tuple) \(how) \(server)\(local) (\(c.method)), \(state)"
        case .fromClient:
            return "existing connection \(tuple) → \(server)\(local) (\(c.method)), from client, \(state)"
        case .fromRealServer:
            return "existing connection \(tuple) → \(server)\(local) (\(c.method)), reply from real server, \(state)"
        case .icmpFromClientSide:
            return "ICMP error from the client side about connection \(tuple) → \(server)\(local) (\(c.method)), relayed to the real server, \(state)"
        case .icmpFromRealServerSide:
            return "ICMP error from the real server side about connection \(tuple) → \(server)\(local) (\(c.method)), relayed to the client, \(state)"
        case .none:
            return nil
        }
    }

    // MARK: Text helpers

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func trimTrailing(_ text: String) -> String {
        var s = Substring(text)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
