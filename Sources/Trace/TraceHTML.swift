import Core

/// `lvsd replay --html FILE`: every replayed frame as a before/after table with the fields
/// the director changed highlighted, next to the same block `--trace` prints.
///
/// The page is self-contained (inline style, no script) and byte-for-byte the same for the
/// same capture and rules, so Docs/learn/ can commit it and a test can regenerate it.
public enum TraceHTML {
    public static func page(title: String, steps: [ReplayStep], interfaces: [InterfaceConfig], summary: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; }
            section { display: flex; gap: 2em; align-items: flex-start; border-top: 1px solid #ccc; padding: 0.8em 0; }
            table { border-collapse: collapse; font-family: monospace; font-size: 0.9em; }
            th, td { padding: 0.1em 0.6em; text-align: left; }
            tr.changed td { background: #ffe08a; font-weight: bold; }
            tr.added td { background: #b8f0b8; font-weight: bold; }
            tr.removed td { background: #f6b8b8; text-decoration: line-through; }
            pre { font-size: 0.8em; margin: 0; }
            p.verdict { font-family: monospace; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p>Highlighted: <span style="background:#ffe08a">changed by the director</span>,
            <span style="background:#b8f0b8">added</span>, <span style="background:#f6b8b8">removed</span>.</p>

            """
        for step in steps {
            out += section(step, interfaces: interfaces)
        }
        out += "<h2>Summary</h2>\n<pre>\(escape(summary))</pre>\n</body>\n</html>\n"
        return out
    }

    static func section(_ step: ReplayStep, interfaces: [InterfaceConfig]) -> String {
        let arrival = step.interface < interfaces.count ? interfaces[step.interface].name : "interface \(step.interface)"
        let before = FrameFields.describe(step.input)
        let rows: [TraceFormatter.Row]
        if let output = step.output {
            rows = TraceFormatter.compare(before: before.fields, after: FrameFields.decode(output))
        } else {
            rows = before.fields.map { TraceFormatter.Row(layer: $0.layer, name: $0.name, before: $0.value, after: nil) }
        }
        var out = "<section id=\"frame-\(step.number)\">\n<div>\n<h2>#\(step.number) on \(escape(arrival))</h2>\n"
        out += "<p>\(escape(before.summary))</p>\n<table>\n<tr><th>layer</th><th>field</th><th>before</th><th>after</th></tr>\n"
        for row in rows {
            let cls: String
            switch row.change {
            case .same: cls = ""
            case .changed: cls = " class=\"changed\""
            case .added: cls = " class=\"added\""
            case .removed: cls = step.output == nil ? "" : " class=\"removed\""
            }
            out += "<tr\(cls)><td>\(escape(row.layer))</td><td>\(escape(row.name))</td><td>\(escape(row.before ?? ""))</td><td>\(escape(row.after ?? ""))</td></tr>\n"
        }
        out += "</table>\n<p class=\"verdict\">verdict: \(escape(TraceFormatter.verdict(step.verdict, interfaces: interfaces)))</p>\n"
        if let decision = TraceFormatter.decision(step.event, connection: step.connection) {
            out += "<p class=\"verdict\">connection: \(escape(decision))</p>\n"
        }
        out += "</div>\n<pre>\(escape(step.trace(interfaces: interfaces)))</pre>\n</section>\n"
        return out
    }

    /// `&`, `<`, `>` and `"` as entities.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
