#if canImport(Glibc)
import Glibc
#endif

/// Whether a file descriptor is connected to systemd-journald: systemd sets `JOURNAL_STREAM`
/// to the `device:inode` of the stream it hands a service as standard output/error, and a
/// program compares it with `fstat` of its own descriptor rather than trusting the variable
/// alone, which children inherit even after redirecting (systemd.exec(5), "JOURNAL_STREAM").
public enum JournalStream {
    public static func isConnected(fd: Int32, environment value: String?) -> Bool {
        guard let value, let (device, inode) = parse(value) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// `"device:inode"`, both decimal.
    static func parse(_ value: String) -> (UInt64, UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }
}
