#if canImport(Glibc)
import Glibc
#endif

/// A descriptor closed exactly once, when the owner lets go of it.
final class OwnedDescriptor {
    private(set) var fd: Int32

    init(_ fd: Int32) { self.fd = fd }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
