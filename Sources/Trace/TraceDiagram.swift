import Core

/// `lvsd replay --diagram FILE`: the path of the capture's first connection as a Graphviz
/// graph (client, director, real server), each hop labelled with the addressing headers of
/// the frame on that wire, the fields the director rewrote in red and marked `*` (`+` for a
/// header it added). Rendered with `dot -Tsvg`; the same capture gives the same graph, so
/// the SVG in Docs/learn/ can be regenerated and compared.
public enum TraceDiagram {
    /// The fields a hop's label shows: who talks to whom at each layer.
    static let addressing: Set<String> = ["src", "dst", "sport", "dport"]

    /// nil when no frame of `steps` opened a connection.
    public static func dot(title: String, steps: [ReplayStep]) -> String? {
        guard let first = steps.first(where: { $0.event.newConnection && $0.output != nil }),
              let c = first.connection else { return nil }
        let handle = first.event.connection
        let reply = steps.first { $0.event.connection == handle && $0.event.direction == .fromRealServer && $0.output != nil }
        var director = "director (lvsd)\\nVIP \(c.virtualAddress)"
        if c.method == .fullNAT { director += "\\nlocal address \(c.localAddress)" }
        var lines = [
            "digraph \"\(title)\" {",
            "  rankdir=LR;",
            "  labelloc=t;",
            "  label=\"\(title)\";",
            "  fontname=\"Helvetica\";",
            "  node [shape=box, style=rounded, fontname=\"Helvetica\"];",
            "  edge [fontname=\"Courier\", fontsize=10];",
            "  client [label=\"client\\n\(c.clientAddress)\"];",
            "  director [label=\"\(director)\"];",
            "  server [label=\"real server\\n\(c.destinationAddress)\"];",
        ]
        var hop = 0
        func edge(_ from: String, _ to: String, _ caption: String, _ rows: [TraceFormatter.Row], style: String = "") {
            hop += 1
            lines.append("  \(from) -> \(to) [label=<\(label("\(hop). \(caption)", rows))>\(style)];")
        }
        let inbound = FrameFields.decode(first.input)
        edge("client", "director", "client → director", inbound.map { TraceFormatter.Row(layer: $0.layer, name: $0.name, before: $0.value, after: $0.value) })
        edge("director", "server", "director → real server (\(c.method))",
             TraceFormatter.compare(before: inbound, after: FrameFields.decode(first.output!)))
        if let reply, let output = reply.output {
            let back = FrameFields.decode(reply.input)
            edge("server", "director", "real server → director", back.map { TraceFormatter.Row(layer: $0.layer, name: $0.name, before: $0.value, after: $0.value) })
            edge("director", "client", "director → client", TraceFormatter.compare(before: back, after: FrameFields.decode(output)))
        } else if c.flags.contains(.noOutput) {
            hop += 1
            lines.append("  server -> client [style=dashed, label=<\(hop). real server → client<BR ALIGN=\"LEFT\"/>source: the VIP it holds itself;<BR ALIGN=\"LEFT\"/>the director never sees the reply<BR ALIGN=\"LEFT\"/>>];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A hop's label: its caption, then one line per addressing field (and every field of a
    /// header the director added), changed ones red and marked.
    static func label(_ caption: String, _ rows: [TraceFormatter.Row]) -> String {
        var out = "<B>\(TraceHTML.escape(caption))</B><BR ALIGN=\"LEFT\"/>"
        for row in rows where addressing.contains(row.name) || row.change == .added {
            guard let value = row.after else { continue }
            let text = TraceHTML.escape("\(row.layer) \(row.name) \(value)")
            switch row.change {
            case .changed: out += "<FONT COLOR=\"#c00000\">* \(text)</FONT><BR ALIGN=\"LEFT\"/>"
            case .added: out += "<FONT COLOR=\"#007000\">+ \(text)</FONT><BR ALIGN=\"LEFT\"/>"
            case .same, .removed: out += "  \(text)<BR ALIGN=\"LEFT\"/>"
            }
        }
        return out
    }
}
