/// Why a view refused its bytes. Each case becomes a named drop counter in `Core`.
public enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes than the fixed header needs.
    case truncated
    /// The version nibble is not the one this view reads.
    case badVersion
    /// A header-length field (IHL, TCP data offset) below the minimum or beyond the buffer.
    case badHeaderLength
    /// A total/payload length field that claims more bytes than arrived, or less than the header.
    case badTotalLength
    /// An IPv6 extension header chain that runs past the packet or is too long to walk.
    case badExtensionHeader
    /// Valid bytes in a variant this view does not handle (an ARP for another hardware type).
    case unsupported
}
