import POSIX
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The self-pipe idle workers and the health runner poll: a signal makes it readable until cleared.
@Suite struct SelfPipeTests {
    func readable(_ wake: SelfPipe) -> Bool {
        var entry = pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    @Test func aSignalWakesThePollUntilCleared() {
        let wake = SelfPipe()
        #expect(wake.descriptor >= 0)
        #expect(!readable(wake))
        wake.signal()
        wake.signal()
        #expect(readable(wake))
        wake.clear()
        #expect(!readable(wake), "two signals are cleared at once")
        wake.signal()
        #expect(readable(wake))
    }
}
