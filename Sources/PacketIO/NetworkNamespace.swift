import CLinuxPacket
#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces as `ip netns` names them (`/run/netns/NAME`).
///
/// `setns` moves only the calling thread. Call this on a dedicated `Thread` that then opens
/// its sockets (they stay in that namespace for life) and never on a Swift concurrency pool
/// thread, which would carry the namespace into unrelated tasks.
public enum NetworkNamespace {
    /// Moves the calling thread into the namespace `ip netns add NAME` created.
    public static func enterOnCurrentThread(named name: String) throws(PacketIOError) {
        try enterOnCurrentThread(path: "/run/netns/\(name)")
    }

    /// Moves the calling thread into the network namespace at `path` (a bind mount such as
    /// /run/netns/NAME, or /proc/PID/ns/net).
    public static func enterOnCurrentThread(path: String) throws(PacketIOError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .system("open network namespace \(path)", errno: errno,
                          hint: errno == ENOENT ? "create it with `ip netns add`" : nil)
        }
        defer { close(fd) }
        guard lvs_setns(fd, lvs_clone_newnet()) == 0 else {
            throw .system("enter network namespace \(path)", errno: errno,
                          hint: errno == EPERM ? "run as root or with CAP_SYS_ADMIN" : nil)
        }
    }
}
