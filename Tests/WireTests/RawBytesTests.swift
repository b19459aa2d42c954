import Testing
import Wire

@Suite struct RawBytesTests {
    @Test func sliceAndCopy() {
        let out = mutated([1, 2, 3, 4, 5, 6, 7, 8]) { base, length in
            let all = RawBytes(base, count: length)
            #expect(all.slice(from: 2, count: 3).start == base + 2)
            // Overlapping, as a header sliding toward the head does.
            all.copy(from: all.slice(from: 2, count: 4))
        }
        #expect(out == [3, 4, 5, 6, 5, 6, 7, 8])
    }
}
