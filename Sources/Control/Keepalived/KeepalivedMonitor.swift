/// `lvsd_director`'s observability lines, the keepalived.conf side of `lvsd run`'s options
/// (Docs/observability.md); a command-line option wins over its line:
///
///     lvsd_director {
///         metrics_listen 198.18.0.1:9100     # --metrics-listen
///         monitor_users /etc/lvsd/users      # --monitor-users
///         monitor_token_file /etc/lvsd/token # --monitor-token-file
///         metrics_tls_cert /etc/lvsd/tls.pem # --metrics-tls-cert
///         metrics_tls_key /etc/lvsd/tls.key  # --metrics-tls-key
///         ipvs_procfs /run/lvsd/procfs       # --ipvs-procfs
///     }
public struct KeepalivedMonitor: Hashable, Sendable {
    public var metricsListen: ListenAddress?
    public var usersFile: String?
    public var tokenFile: String?
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    public var ipvsProcfs: String?

    public init() {}

    static let keywords: Set<String> = ["metrics_listen", "monitor_users", "monitor_token_file", "metrics_tls_cert", "metrics_tls_key", "ipvs_procfs"]

    mutating func apply(_ line: KeepalivedStatement) throws(ConfigError) {
        let word = try line.value("\(line.name) VALUE")
        switch line.name {
        case "metrics_listen":
            guard let address = ListenAddress(word.text) else {
                throw word.location.error("'\(word.text)' is not ADDRESS:PORT; write e.g. 'metrics_listen 198.18.0.1:9100' or '[2001:db8::1]:9100'")
            }
            metricsListen = address
        case "monitor_users": usersFile = word.text
        case "monitor_token_file": tokenFile = word.text
        case "metrics_tls_cert": tlsCertificateFile = word.text
        case "metrics_tls_key": tlsKeyFile = word.text
        default: ipvsProcfs = word.text
        }
    }
}

/// `HOST:PORT` or `[IPv6]:PORT`, port 0...65535.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace), let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
