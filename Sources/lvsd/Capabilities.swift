import CPrivileges
import Glibc
import Logging

/// What lvsd keeps of root's power once it runs (issue 12; Docs/privileges.md).
///
/// lvsd stays uid 0 (its files, /proc/sys and /run/lvsd are root's) but gives up every
/// capability a director does not use, from its effective, permitted, inheritable, ambient
/// and bounding sets. The bounding set matters most: a script lvsd starts as root (a
/// `notify` or `MISC_CHECK` script with no `script_user`) gets the bounding set at execve,
/// so it runs with these six and no more. Capabilities are per thread in Linux, so the
/// limit is set on the main thread before lvsd starts any other (every thread it then
/// creates inherits it; a test reads every thread's /proc status).
enum Capabilities {
    /// Each capability lvsd keeps, with the reason (linux/capability.h numbers).
    static let kept: [(number: Int, name: String, why: String)] = [
        (5, "cap_kill", "signal timed-out check and notify scripts that run as script_user"),
        (6, "cap_setgid", "run scripts as script_user: setgroups, setresgid"),
        (7, "cap_setuid", "run scripts as script_user: setresuid"),
        (10, "cap_net_bind_service", "health checks and listeners bound to ports below 1024"),
        (12, "cap_net_admin", "the nftables table, forwarding sysctls, multicast and socket options"),
        (13, "cap_net_raw", "AF_PACKET rings, VRRP and ICMP raw sockets, gratuitous ARP"),
    ]

    static var keptMask: UInt64 { kept.reduce(0) { $0 | 1 << UInt64($1.number) } }

    /// Limits the calling (main) thread to `kept`; logs what it did, or why it could not.
    static func limit(logger: Logger) {
        let names = kept.map(\.name).joined(separator: ", ")
        if lvs_drop_bounding(keptMask) != 0 {
            // Without CAP_SETPCAP (lvsd not started as root) the bounding set stays as the
            // parent left it; the other sets can still only shrink.
            logger.warning("lvsd: capabilities: bounding set unchanged (\(String(cString: strerror(errno))))")
        }
        guard lvs_limit_capabilities(keptMask) == 0 else {
            logger.warning("lvsd: capabilities: not limited (\(String(cString: strerror(errno))))")
            return
        }
        logger.info("lvsd: capabilities limited to \(names) (--keep-capabilities keeps all)")
    }
}
