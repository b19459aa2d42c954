import Foundation
@testable import Engine
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The mailbox that carries learned neighbours between workers: lossless and ordered across
/// threads, and a full one refuses instead of overwriting.
@Suite struct MailboxTests {
    /// One producer thread posts 100,000 numbered messages through a 64-slot mailbox (so it
    /// fills and wraps many times) while the consumer drains: all arrive, once, in order.
    @Test func aMailboxDeliversEveryMessageOnceInOrderAcrossThreads() async throws {
        let mailbox = Mailbox<Int>(capacity: 64)
        let total = 100_000
        let producer = Thread {
            var next = 0
            while next < total {
                if mailbox.post(next) { next += 1 } else { sched_yield() }
            }
        }
        producer.start()
        var expected = 0
        var outOfOrder = 0
        let deadline = Date().addingTimeInterval(30)
        while expected < total && Date() < deadline {
            let n = mailbox.receive { value in
                if value != expected { outOfOrder += 1 }
                expected = value + 1
            }
            if n == 0 { sched_yield() }
        }
        #expect(expected == total)
        #expect(outOfOrder == 0)
    }

    @Test func aFullMailboxRefusesUntilDrained() {
        let mailbox = Mailbox<String>(capacity: 3)  // rounded up to 4
        #expect((0..<4).allSatisfy { mailbox.post("m\($0)") })
        #expect(!mailbox.post("m4"))
        var got: [String] = []
        #expect(mailbox.receive { got.append($0) } == 4)
        #expect(got == ["m0", "m1", "m2", "m3"])
        #expect(mailbox.receive { _ in } == 0)
        #expect(mailbox.post("m4"))
        #expect(mailbox.receive { got.append($0) } == 1)
        #expect(got.last == "m4")
    }
}
