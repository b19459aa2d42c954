#if canImport(Glibc)
import Glibc
#endif

/// A failure to open, configure or use an AF_PACKET socket or its rings, worded for an
/// operator: what was attempted, on which interface, the system's reason, and what to do.
///
/// `errno` is kept so callers can react to a cause (EPERM, ENODEV) without parsing text;
/// it is 0 for failures that did not come from a system call (a bad ring geometry).
public struct PacketIOError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var errno: Int32

    public init(message: String, errno: Int32 = 0) {
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// "cannot <action>: <strerror> (<hint>)", e.g. "cannot open AF_PACKET socket on veth0:
    /// Operation not permitted (run as root or with CAP_NET_RAW)".
    static func system(_ action: String, errno code: Int32, hint: String? = nil) -> PacketIOError {
        let reason = String(cString: strerror(code))
        let advice = hint ?? defaultHint(code)
        let suffix = advice.map { " (\($0))" } ?? ""
        return PacketIOError(message: "cannot \(action): \(reason)\(suffix)", errno: code)
    }

    /// What an operator usually does about a given errno from packet-socket calls.
    private static func defaultHint(_ code: Int32) -> String? {
        switch code {
        case EPERM, EACCES: "run as root or with CAP_NET_RAW"
        case ENODEV, ENXIO: "no such interface in this network namespace; check `ip link`"
        case ENETDOWN: "bring the interface up with `ip link set IF up`"
        case ENOMEM: "the ring is too large for this machine; use fewer or smaller blocks"
        case EAFNOSUPPORT: "this kernel lacks AF_PACKET (CONFIG_PACKET)"
        case ENOPROTOOPT: "this kernel lacks the socket option; it is older than this program needs"
        default: nil
        }
    }
}
