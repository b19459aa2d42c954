import Core
@testable import Engine
import Testing
import Wire

/// The rtnetlink reader over datagrams the kernel wrote (`RouteNetlinkFixtures`): dumps and
/// notifications parse into the links and addresses `ip` shows, fold into the interface table
/// with the changes lvsd logs, and every truncated or malformed message is a named error.
@Suite struct RouteNetlinkTests {
    static let ifx0MAC = MACAddress(0x02, 0, 0, 0, 0x05, 0x01)
    static let ifx1MAC = MACAddress(0x02, 0, 0, 0, 0x05, 0x02)

    static func parse(_ bytes: [UInt8]) throws(RouteNetlinkError) -> [RouteNetlinkMessage] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(RouteNetlinkError) in try RouteNetlinkMessage.parse(raw) }
        }
        return try result.get()
    }

    static func parseAll(_ datagrams: [[UInt8]]) throws -> [RouteNetlinkMessage] {
        try datagrams.flatMap { try parse($0) }
    }

    static func network(_ text: String, _ prefix: Int) -> HostInterfaces.Network {
        HostInterfaces.Network(address: IPAddress(text)!, prefixLength: prefix)
    }

    /// The table after both dumps.
    static func dumped() throws -> KernelInterfaces {
        var table = KernelInterfaces()
        table.apply(try parseAll(RouteNetlinkFixtures.linkDump + RouteNetlinkFixtures.addressDump))
        return table
    }

    @Test("a link dump: every link with its index, name, MAC, MTU and flags, then NLMSG_DONE")
    func linkDump() throws {
        let messages = try Self.parseAll(RouteNetlinkFixtures.linkDump)
        #expect(messages.count == 4)
        #expect(messages.last == .done)
        let links = messages.compactMap { message -> RouteNetlinkMessage.LinkMessage? in
            if case let .link(link, deleted: false) = message { return link }
            return nil
        }
        #expect(links.map(\.name) == ["lo", "ifx1", "ifx0"])
        #expect(links.map(\.index) == [1, 2, 3])
        #expect(links.map(\.mac) == [.zero, Self.ifx1MAC, Self.ifx0MAC])
        #expect(links.map(\.mtu) == [65536, 1500, 1500])
        #expect(links.map(\.isUp) == [false, true, true])
        #expect(links.map(\.hasCarrier) == [false, true, true])
        #expect(links[2].operationalState == 6, "IF_OPER_UP")
    }

    @Test("an address dump: IPv4 from IFA_LOCAL, IPv6 from IFA_ADDRESS, prefixes, scopes, labels")
    func addressDump() throws {
        let messages = try Self.parseAll(RouteNetlinkFixtures.addressDump)
        let addresses = messages.compactMap { message -> RouteNetlinkMessage.AddressMessage? in
            if case let .address(address, deleted: false) = message { return address }
            return nil
        }
        #expect(messages.last == .done)
        #expect(addresses.map(\.index) == [3, 2, 3, 3])
        #expect(addresses.map(\.address) == ["198.18.5.1", "fe80::ff:fe00:502", "2001:db8:5::1", "fe80::ff:fe00:501"].map { IPAddress($0)! })
        #expect(addresses.map(\.prefixLength) == [24, 64, 64, 64])
        #expect(addresses.map(\.scope) == [0, 253, 0, 253])
        #expect(addresses[0].label == "ifx0")
    }

    @Test("the dumps folded into the table: each interface with its addresses; the director's leave out link-local")
    func table() throws {
        let table = try Self.dumped()
        let ifx0 = try #require(table["ifx0"])
        #expect(ifx0 == KernelInterface(name: "ifx0", index: 3, mac: Self.ifx0MAC, mtu: 1500, isUp: true, hasCarrier: true,
                                        addresses: [Self.network("198.18.5.1", 24), Self.network("2001:db8:5::1", 64),
                                                    Self.network("fe80::ff:fe00:501", 64)]))
        #expect(ifx0.directorAddresses == [Self.network("198.18.5.1", 24), Self.network("2001:db8:5::1", 64)])
        #expect(ifx0.interfaceConfig == InterfaceConfig(name: "ifx0", mac: Self.ifx0MAC, mtu: 1500,
                                                        addresses: [IPAddress("198.18.5.1")!, IPAddress("2001:db8:5::1")!]))
        #expect(table["ifx1"]?.directorAddresses == [])
        #expect(table["lo"]?.isUp == false)
        #expect(table["eth9"] == nil)
    }

    @Test("notifications: address added and removed, MTU, link down (which drops its IPv6 addresses), an IPv6 address added")
    func notifications() throws {
        var table = try Self.dumped()
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.addressAdded)) == [.addressAdded(interface: "ifx0", Self.network("198.18.5.20", 24))])
        #expect(table["ifx0"]?.addresses.contains(Self.network("198.18.5.20", 24)) == true)
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.addressRemoved)) == [.addressRemoved(interface: "ifx0", Self.network("198.18.5.20", 24))])
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.mtuChanged)) == [.mtu(interface: "ifx0", from: 1500, to: 1400)])
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.linkDown)) == [
            .administrativeState(interface: "ifx0", up: false), .carrier(interface: "ifx0", up: false),
            .addressRemoved(interface: "ifx0", Self.network("2001:db8:5::1", 64)),
            .addressRemoved(interface: "ifx0", Self.network("fe80::ff:fe00:501", 64)),
            .carrier(interface: "ifx1", up: false),
        ])
        #expect(table["ifx0"]?.addresses == [Self.network("198.18.5.1", 24)])
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.ipv6AddressAdded)) == [.addressAdded(interface: "ifx1", Self.network("2001:db8:5::20", 64))])
        // The same notification again (it raced a dump) changes nothing.
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.ipv6AddressAdded)) == [])
    }

    @Test("a dump compared with the table it replaces gives the changes the lost notifications would have")
    func resynchronise() throws {
        let before = try Self.dumped()
        var after = before
        after.apply(try Self.parseAll(RouteNetlinkFixtures.addressAdded + RouteNetlinkFixtures.mtuChanged))
        #expect(KernelInterfaces.changes(of: "ifx0", from: before["ifx0"], to: after["ifx0"])
                == [.mtu(interface: "ifx0", from: 1500, to: 1400), .addressAdded(interface: "ifx0", Self.network("198.18.5.20", 24))])
        #expect(KernelInterfaces.changes(of: "ifx0", from: before["ifx0"], to: nil) == [.vanished(interface: "ifx0")])
    }

    @Test("an address notification that overtakes its link's is kept until the link is known")
    func addressBeforeLink() throws {
        var table = KernelInterfaces()
        #expect(table.apply(try Self.parseAll(RouteNetlinkFixtures.addressAdded)) == [])
        table.apply(try Self.parseAll(RouteNetlinkFixtures.linkDump))
        #expect(table["ifx0"]?.addresses == [Self.network("198.18.5.20", 24)])
    }

    @Test("log lines name the interface and the change")
    func descriptions() {
        #expect(InterfaceChange.addressAdded(interface: "d0", Self.network("198.18.0.5", 24)).description == "d0: address 198.18.0.5/24 added")
        #expect(InterfaceChange.addressRemoved(interface: "d0", Self.network("2001:db8::5", 64)).description == "d0: address 2001:db8::5/64 removed")
        #expect(InterfaceChange.mtu(interface: "d1", from: 1500, to: 9000).description == "d1: MTU 1500 → 9000")
    }

    @Test("the dump request: header length, type, NLM_F_REQUEST|NLM_F_DUMP, sequence, and a zeroed family header")
    func dumpRequest() {
        #expect(RouteNetlinkMessage.dumpRequest(type: RouteNetlinkMessage.getLink, sequence: 7)
                == [32, 0, 0, 0, 18, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16))
        #expect(RouteNetlinkMessage.dumpRequest(type: RouteNetlinkMessage.getAddress, sequence: 1).count == 24)
    }

    // MARK: Malformed input

    @Test("every truncation of a captured datagram is a named error or fewer whole messages, never a trap")
    func truncations() {
        for datagram in RouteNetlinkFixtures.linkDump + RouteNetlinkFixtures.addressDump + RouteNetlinkFixtures.linkDown {
            for length in 0..<datagram.count {
                let cut = Array(datagram.prefix(length))
                do {
                    _ = try Self.parse(cut)
                    // Only a cut on a message boundary parses.
                    #expect(length == 0 || Self.boundaries(datagram).contains(length), "a cut at \(length) of \(datagram.count) parsed")
                } catch {
                    #expect(!error.description.isEmpty)
                }
            }
        }
    }

    static func boundaries(_ datagram: [UInt8]) -> Set<Int> {
        var offsets: Set<Int> = []
        var offset = 0
        while offset + 4 <= datagram.count {
            let length = Int(datagram[offset]) | Int(datagram[offset + 1]) << 8 | Int(datagram[offset + 2]) << 16
            guard length > 0 else { break }
            offset += (length + 3) & ~3
            offsets.insert(min(offset, datagram.count))
        }
        return offsets
    }

    @Test("malformed messages: each named")
    func malformed() throws {
        let added = RouteNetlinkFixtures.addressAdded[0]
        #expect(throws: RouteNetlinkError.truncatedHeader(offset: 0, available: 8)) { try Self.parse(Array(added.prefix(8))) }
        var short = added
        short[0] = 8  // nlmsg_len below the header's 16
        #expect(throws: RouteNetlinkError.badMessageLength(offset: 0, length: 8, available: 80)) { try Self.parse(short) }
        var long = added
        long[0] = 200
        #expect(throws: RouteNetlinkError.badMessageLength(offset: 0, length: 200, available: 80)) { try Self.parse(long) }
        var tiny = added.prefix(20)
        tiny[0] = 20
        #expect(throws: RouteNetlinkError.truncatedBody(type: 20, length: 20, needed: 24)) { try Self.parse(Array(tiny)) }
        var attribute = added
        attribute[24] = 0xF0  // the first rtattr's rta_len runs past the message
        #expect(throws: RouteNetlinkError.badAttributeLength(type: 20, offset: 0, length: 0xF0)) { try Self.parse(attribute) }
        var zero = added
        zero[24] = 2  // rta_len below the attribute header's 4
        #expect(throws: RouteNetlinkError.badAttributeLength(type: 20, offset: 0, length: 2)) { try Self.parse(zero) }
        var prefix = added
        prefix[17] = 33  // an IPv4 prefix longer than 32
        #expect(throws: RouteNetlinkError.badAddress(family: 2, bytes: 4, prefixLength: 33)) { try Self.parse(prefix) }
        var family = added
        family[16] = 10  // says IPv6, carries 4 bytes
        #expect(throws: RouteNetlinkError.badAddress(family: 10, bytes: 4, prefixLength: 24)) { try Self.parse(family) }
        // NLMSG_ERROR: an errno, or 0 for an acknowledgement; its body must hold the errno.
        let error: [UInt8] = [20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xEF, 0xFF, 0xFF, 0xFF]
        #expect(try Self.parse(error) == [.error(17)])
        #expect(throws: RouteNetlinkError.truncatedBody(type: 2, length: 18, needed: 20)) { try Self.parse(Array(error.prefix(18)).with(length: 18)) }
        #expect(try Self.parse([16, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == [.other(type: 24)])
    }

    @Test("random bytes and random corruption of real datagrams never trap", arguments: 0..<4)
    func fuzz(seed: Int) {
        var state = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let corpus = RouteNetlinkFixtures.linkDump + RouteNetlinkFixtures.addressDump + RouteNetlinkFixtures.linkDown
        var parsed = 0, refused = 0
        for _ in 0..<2_000 {
            var bytes = corpus[Int(next() % UInt64(corpus.count))]
            for _ in 0..<(1 + Int(next() % 4)) {
                bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
            }
            var table = KernelInterfaces()
            do {
                table.apply(try Self.parse(bytes))
                parsed += 1
            } catch {
                refused += 1
            }
        }
        #expect(parsed + refused == 2_000)
        #expect(refused > 0 && parsed > 0, "corruption both survived and was caught: \(parsed) parsed, \(refused) refused")
    }
}

private extension Array where Element == UInt8 {
    /// The bytes with `nlmsg_len` set to `length`.
    func with(length: Int) -> [UInt8] {
        var copy = self
        copy[0] = UInt8(length)
        return copy
    }
}
