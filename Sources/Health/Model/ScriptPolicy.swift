/// Who runs MISC_CHECK and notify scripts, and how carefully (keepalived's `script_user`,
/// `enable_script_security`, notify.c `get_default_script_user`, `check_script_secure`).
///
/// A script runs as, in order: its own `user USER [GROUP]` (MISC_CHECK's `user`, the words
/// after a notify script); else `script_user USER [GROUP]` from global_defs; else
/// `keepalived_script` when that user exists; else lvsd's own user (root), which keepalived
/// allows with a warning, and so does SwiftLVS (`KeepalivedHealthPlan` adds it).
///
/// A script run as root (or a set-uid/set-gid root file) must not be replaceable by anyone
/// else: with `enforceSecurity`, a script whose file or any directory on its path is writable
/// by a non-root user is refused and the check fails (fail closed); without it, lvsd warns at
/// load and runs it, as keepalived does.
public struct ScriptPolicy: Hashable, Sendable {
    /// The user keepalived runs scripts as when it exists and nothing else is configured.
    public static let defaultUser = "keepalived_script"
    /// The only environment a script gets besides LANG (when lvsd has one). keepalived hands on
    /// its own environment minus IFS, LD_PRELOAD and LD_LIBRARY_PATH, which under systemd is
    /// little more than PATH and LANG; lvsd may be started from any shell, so it passes a fixed
    /// one instead of whatever that shell exported.
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `script_user`: the user (name or number); nil: `keepalived_script` if it exists, else lvsd's user.
    public var user: String?
    /// `script_user`'s group; nil: the user's primary group.
    public var group: String?
    /// `enable_script_security`: refuse scripts that run as root from a path non-root can write.
    public var enforceSecurity: Bool

    public init(user: String? = nil, group: String? = nil, enforceSecurity: Bool = false) {
        self.user = user
        self.group = group
        self.enforceSecurity = enforceSecurity
    }
}
