/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so randomized tests draw
/// the same values on every run and every platform.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform enough in 0..<n for test purposes (n > 0).
    @inline(__always)
    public mutating func next(below n: Int) -> Int { Int(truncatingIfNeeded: next() % UInt64(n)) }

    @inline(__always)
    public mutating func chance(_ percent: Int) -> Bool { next(below: 100) < percent }
}
