/// An instance's (or sync group's) state: RFC 5798 §6.4's Initialize, Backup and Master, plus
/// keepalived's FAULT (a tracked interface or script is down: advertise nothing, own nothing)
/// and STOP (shut down, for `notify_stop`).
public enum VRRPState: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case initialize
    case backup
    case master
    case fault
    case stop

    /// keepalived's word, as logs, `notify` scripts and `lvsadm --vrrp` print it.
    public var description: String {
        switch self {
        case .initialize: "INIT"
        case .backup: "BACKUP"
        case .master: "MASTER"
        case .fault: "FAULT"
        case .stop: "STOP"
        }
    }
}
