import Wire

/// A passive-mode data connection the server announced (227/229) and the client has not
/// opened yet: IPVS creates it as a connection without client port
/// (`IP_VS_CONN_F_NO_CPORT`, ip_vs_ftp.c); here it waits in a small table of its own, so the
/// connection table's lookups stay exact. The client's SYN to VIP:port takes it.
@usableFromInline
struct FTPExpectation {
    var client: IPAddress = .zero
    var virtual: IPAddress = .zero
    var destination: IPAddress = .zero
    var localAddress: IPAddress = .zero
    var expires: UInt64 = 0
    var clientMAC: MACAddress = .zero
    /// The data port: the same on the VIP and on the real server.
    var port: UInt16 = 0
    var realServer: UInt32 = 0
    var localPool: UInt16 = 0
    var method: ForwardingMethod = .nat
    var ingressInterface: UInt8 = 0
    /// The control connection that announced it, and that connection's client and virtual
    /// ports, for the data connection's `FTPDataLink`.
    var control: ConnectionHandle = 0
    var controlClientPort: UInt16 = 0
    var controlVirtualPort: UInt16 = 0
}

/// The bounded table of expected passive data connections, one per worker. Linear: it holds
/// the transfers announced in the last `FTPHelper.expectationTimeout` and not yet opened,
/// which is few; it is searched only for SYNs that missed the connection table, and only
/// while it holds something. Full: the announcement is not expected and counted
/// (`FTPCounters.expectationTableFull`).
@usableFromInline
struct FTPExpectations {
    static let capacity = 1024
    let slots: UnsafeMutablePointer<FTPExpectation>
    var count = 0

    init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: FTPExpectation(), count: Self.capacity)
    }

    func deallocate() { slots.deallocate() }

    /// Adds `e`, replacing one for the same client and port; false when full of live ones.
    mutating func add(_ e: FTPExpectation, now: UInt64) -> Bool {
        var i = 0
        while i < count {
            if slots[i].expires <= now {
                removeAt(i)
                continue
            }
            if slots[i].client == e.client && slots[i].virtual == e.virtual && slots[i].port == e.port {
                slots[i] = e
                return true
            }
            i += 1
        }
        guard count < Self.capacity else { return false }
        slots[count] = e
        count += 1
        return true
    }

    /// Takes the live expectation for a SYN from `client` to `virtual`:`port`.
    mutating func take(client: IPAddress, virtual: IPAddress, port: UInt16, now: UInt64) -> FTPExpectation? {
        var i = 0
        while i < count {
            if slots[i].expires <= now {
                removeAt(i)
                continue
            }
            if slots[i].port == port && slots[i].client == client && slots[i].virtual == virtual {
                let e = slots[i]
                removeAt(i)
                return e
            }
            i += 1
        }
        return nil
    }

    private mutating func removeAt(_ i: Int) {
        count -= 1
        slots[i] = slots[count]
    }
}
