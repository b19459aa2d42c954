/// The lvsd lines about services that ipvsadm has no words for (`FirewallMarkLine`,
/// `TunableLine`), by first word, for the rules file and keepalived.conf's `lvsd_director`.
enum ServiceSettingLines {
    typealias Apply = ([RulesToken], inout RulesBuilder, RulesLocation) throws(ConfigError) -> Void

    static let keywords = [FirewallMarkLine.keyword, TunableLine.tunableKeyword, TunableLine.timeoutKeyword]

    /// The line's syntax, for messages.
    static func usage(_ word: String) -> String {
        switch word {
        case FirewallMarkLine.keyword: "fwmark MARK tcp|udp VIP[/PREFIX] [PORTS]"
        case TunableLine.tunableKeyword: "tunable NAME VALUE"
        default: "timeout STATE SECONDS"
        }
    }

    static func handler(_ word: String) -> Apply? {
        switch word {
        case FirewallMarkLine.keyword: { (t, b, l) throws(ConfigError) in try FirewallMarkLine.apply(t, to: &b, at: l) }
        case TunableLine.tunableKeyword, TunableLine.timeoutKeyword: { (t, b, l) throws(ConfigError) in try TunableLine.apply(t, to: &b, at: l) }
        default: nil
        }
    }
}
