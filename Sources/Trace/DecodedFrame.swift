/// A frame turned into named fields plus a one-line, tcpdump-like summary.
public struct DecodedFrame: Hashable, Sendable {
    /// Every header field, outermost header first.
    public var fields: [Field]
    /// `TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0`.
    public var summary: String

    public init(fields: [Field], summary: String) {
        self.fields = fields
        self.summary = summary
    }
}
