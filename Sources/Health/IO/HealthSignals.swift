#if canImport(Glibc)
import Glibc
#endif

/// Thread-level signal settings for threads that write to sockets.
public enum HealthSignals {
    /// Blocks SIGPIPE on the calling thread, so a write to a socket the server closed returns
    /// EPIPE instead of killing the process. OpenSSL writes with write(2), without MSG_NOSIGNAL;
    /// blocking the signal per thread keeps the process-wide disposition untouched.
    public static func blockBrokenPipeOnCurrentThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
