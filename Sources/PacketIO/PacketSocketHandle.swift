/// The descriptor and ring mapping of one packet socket, shared by `PacketSocket` and its
/// rings so that neither can outlive them: the last of the three to go closes the socket
/// and unmaps the rings.
final class PacketSocketHandle {
    let descriptor: Int32
    let interface: String
    private(set) var mapping: UnsafeMutableRawPointer?
    private(set) var mappingLength = 0

    init(descriptor: Int32, interface: String) {
        self.descriptor = descriptor
        self.interface = interface
    }

    func adoptMapping(_ base: UnsafeMutableRawPointer, length: Int) {
        precondition(mapping == nil, "a packet socket maps its rings once")
        mapping = base
        mappingLength = length
    }

    deinit {
        if let mapping { LinuxPacket.unmapRings(mapping, length: mappingLength) }
        LinuxPacket.closeSocket(descriptor)
    }
}
