/// A failure to open, read or write a pcap file, worded for an operator: what went wrong,
/// which file, and what to do about it.
public struct PcapError: Error, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
