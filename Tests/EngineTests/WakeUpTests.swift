@testable import Engine
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The idle worker's wake-up: a signal makes its poll set readable until it is cleared.
@Suite struct WakeUpTests {
    func readable(_ wake: WakeUp) -> Bool {
        var entry = pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    @Test func aSignalWakesThePollUntilCleared() {
        let wake = WakeUp()
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
