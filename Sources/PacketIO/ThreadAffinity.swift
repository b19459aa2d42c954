import CLinuxPacket
#if canImport(Glibc)
import Glibc
#endif

/// Pinning a packet worker's thread to one CPU, so its ring, caches and fanout share
/// (PACKET_FANOUT_CPU) stay put.
public enum ThreadAffinity {
    /// Pins the calling thread (only) to `cpu`. Call it on the worker's own `Thread`.
    public static func pinCurrentThread(toCPU cpu: Int) throws(PacketIOError) {
        guard lvs_pin_thread_to_cpu(Int32(clamping: cpu)) == 0 else {
            throw .system("pin the thread to CPU \(cpu)", errno: errno,
                          hint: errno == EINVAL ? "this machine has CPUs 0 to \(sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1)" : nil)
        }
    }
}
