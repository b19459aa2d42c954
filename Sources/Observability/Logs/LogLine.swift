import Logging

/// How a log line is written.
///
/// - `plain`: the message alone, as lvsd always wrote it (scripts and `lvsd lab` parse it).
/// - `fields`: the message, then its metadata as `key=value` pairs sorted by key (logfmt
///   quoting: a value with a space, `"`, `=`, a backslash or a control character is quoted).
/// - `journal`: `fields` after a `<N>` syslog priority, which systemd-journald takes from a
///   stream as the entry's priority (sd-daemon(3), `SD_WARNING` and friends).
public enum LogFormat: String, Sendable, Equatable, CaseIterable {
    case plain
    case fields
    case journal

    /// The line for one event, without its newline.
    public func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = self == .journal ? "<\(LogFormat.priority(level))>" : ""
        line += message
        guard self != .plain else { return line }
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            line += " "
            line += key
            line += "="
            line += LogFormat.quoted(LogFormat.flat(value))
        }
        return line
    }

    /// RFC 5424 §6.2.1 severities: swift-log's seven levels onto syslog's eight (trace and
    /// debug both debug, there is no alert or emergency).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func flat(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let items): items.map(flat).joined(separator: ",")
        case .dictionary(let d): d.keys.sorted().map { "\($0):\(flat(d[$0]!))" }.joined(separator: ",")
        }
    }

    /// logfmt's rule: bare when it can be, otherwise in double quotes with `"`, `\` and
    /// control characters escaped, so one event stays one line.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
