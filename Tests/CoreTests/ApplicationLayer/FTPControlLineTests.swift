import Core
import Testing
import Wire

/// The FTP line scanner and writer over literal payloads: what is found, where its text is,
/// what is left alone (split lines, other verbs) and what is malformed, never a trap.
@Suite struct FTPControlLineTests {
    func client(_ text: String) -> FTPControlLine.Scan {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { FTPControlLine.scanClient($0) }
    }
    func server(_ text: String) -> FTPControlLine.Scan {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { FTPControlLine.scanServer($0) }
    }

    @Test func portIsFoundWithItsTextRange() {
        #expect(client("PORT 198,18,0,100,156,64\r\n") == .found(.init(
            kind: .port, address: IPAddress("198.18.0.100")!, port: 40000, start: 5, end: 24)))
        // Verbs are case-insensitive (RFC 959 §5.3.1); several spaces are one separator.
        #expect(client("port  198,18,0,100,0,21\r\n") == .found(.init(
            kind: .port, address: IPAddress("198.18.0.100")!, port: 21, start: 6, end: 23)))
    }

    @Test func passiveRepliesAreFound() {
        #expect(server("227 Entering Passive Mode (198,18,1,11,195,80).\r\n") == .found(.init(
            kind: .passiveReply, address: IPAddress("198.18.1.11")!, port: 50000, start: 27, end: 45)))
        #expect(server("229 Entering Extended Passive Mode (|||50001|)\r\n") == .found(.init(
            kind: .extendedPassiveReply, address: nil, port: 50001, start: 36, end: 45)))
    }

    @Test func extendedPortIsFoundForBothFamilies() {
        #expect(client("EPRT |1|198.18.0.100|40000|\r\n") == .found(.init(
            kind: .extendedPort, address: IPAddress("198.18.0.100")!, port: 40000, start: 5, end: 27)))
        #expect(client("EPRT !2!2001:db8::100!40000!\r\n") == .found(.init(
            kind: .extendedPort, address: IPAddress("2001:db8::100")!, port: 40000, start: 5, end: 28, delimiter: 0x21)))
        #expect(client("EPRT |2|2001:db8:0:0:1:2:3:4|1|\r\n") == .found(.init(
            kind: .extendedPort, address: IPAddress("2001:db8::1:2:3:4")!, port: 1, start: 5, end: 31)))
        #expect(client("EPRT |2|::1|2|\r\n") == .found(.init(
            kind: .extendedPort, address: IPAddress("::1")!, port: 2, start: 5, end: 14)))
    }

    @Test func otherLinesAndSplitLinesAreLeftAlone() {
        #expect(client("RETR file\r\n") == .none)
        #expect(client("PASV\r\n") == .none)
        #expect(server("226 Transfer complete.\r\n") == .none)
        // Not the first line of the segment: ip_vs_ftp looks only at the start.
        #expect(server("150 Here.\r\n227 Entering Passive Mode (198,18,1,11,195,80).\r\n") == .none)
        // Split across segments: the first part has no CRLF, the second no verb.
        #expect(server("227 Entering Passive Mode (198,18,1,11,19") == .none)
        #expect(server("5,80).\r\n") == .none)
        #expect(client("PORT 198,18,0,100,156,64\r") == .none)
        #expect(client("PORT 198,18,0,100,156,64\n") == .none)
    }

    @Test func malformedNumbersAreMalformed() {
        for line in ["PORT 256,18,0,100,156,64\r\n", "PORT 198,18,0,100,156\r\n", "PORT 198,18,0,100,156,64,1\r\n",
                     "PORT 198,18,0,100,156,99999999999999999999\r\n",
                     "PORT\r\n", "PORTX 1,2,3,4,5,6\r\n", "PORT ,,,,,\r\n", "PORT 198,18,0,100,156,64 \r\n",
                     "EPRT |3|198.18.0.100|40000|\r\n", "EPRT |1|198.18.0.100|65536|\r\n", "EPRT |1|198.18.0|1|\r\n",
                     "EPRT |2|2001:db8:::1|1|\r\n", "EPRT |2|1:2:3:4:5:6:7:8:9|1|\r\n", "EPRT |2|12345::|1|\r\n",
                     "EPRT 1|1|198.18.0.100|1|\r\n", "EPRT |1|198.18.0.100|1\r\n"] {
            #expect(client(line) == .malformed, "\(line.debugDescription)")
        }
        for line in ["227 Entering Passive Mode (198,18,1,11,195,800).\r\n", "227 Entering Passive Mode\r\n",
                     "227 Entering Passive Mode (198,18,1,11,195,80\r\n", "229 Entering (||50000|)\r\n",
                     "229 Entering (|||70000|)\r\n", "229 Entering (|||50000)\r\n"] {
            #expect(server(line) == .malformed, "\(line.debugDescription)")
        }
    }

    @Test func writtenEndpointsReadBack() {
        func write(_ kind: FTPControlLine.Kind, _ address: String, _ port: UInt16, delimiter: UInt8 = 0x7C) -> String {
            var out = [UInt8](repeating: 0, count: FTPControlLine.maximumEndpointText)
            let n = out.withUnsafeMutableBytes {
                FTPControlLine.writeEndpoint(kind, address: IPAddress(address)!, port: port, delimiter: delimiter,
                                             into: $0.baseAddress!)
            }
            return String(decoding: out[0..<n], as: UTF8.self)
        }
        #expect(write(.port, "198.18.1.100", 1024) == "198,18,1,100,4,0")
        #expect(write(.passiveReply, "0.0.0.0", 65535) == "0,0,0,0,255,255")
        #expect(write(.extendedPort, "198.18.1.100", 0) == "|1|198.18.1.100|0|")
        #expect(write(.extendedPort, "2001:db8:1::100", 65535, delimiter: 0x21) == "!2!2001:db8:1:0:0:0:0:100!65535!")
        #expect(write(.extendedPort, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535).utf8.count
                == FTPControlLine.maximumEndpointText)
        #expect(write(.extendedPassiveReply, "198.18.0.10", 50000) == "|||50000|")
        #expect(write(.port, "2001:db8::1", 1) == "")
        for port: UInt16 in [0, 1, 255, 256, 40000, 65535] {
            let line = "PORT " + write(.port, "198.18.0.100", port) + "\r\n"
            guard case .found(let e) = client(line) else { Issue.record("\(line)"); continue }
            #expect(e.port == port && e.address == IPAddress("198.18.0.100"))
            let ext = "EPRT " + write(.extendedPort, "2001:db8::7", port) + "\r\n"
            guard case .found(let x) = client(ext) else { Issue.record("\(ext)"); continue }
            #expect(x.port == port && x.address == IPAddress("2001:db8::7"))
        }
    }

    @Test func replaceMovesTheRestBothWays() {
        var bytes = Array("PORT 198,18,0,100,156,64\r\nNOOP\r\n".utf8) + [UInt8](repeating: 0xEE, count: 8)
        let length = bytes.count - 8
        guard case .found(let e) = client("PORT 198,18,0,100,156,64\r\n") else { Issue.record(); return }
        let longer = Array("198,18,255,100,156,64".utf8)
        let diff = bytes.withUnsafeMutableBytes { raw in
            longer.withUnsafeBytes { FTPControlLine.replace(e, in: raw.baseAddress!, length: length, room: 8, with: $0) }
        }
        #expect(diff == 2)
        #expect(String(decoding: bytes[0..<(length + 2)], as: UTF8.self) == "PORT 198,18,255,100,156,64\r\nNOOP\r\n")
        // Shorter, from the original again.
        var again = Array("PORT 198,18,0,100,156,64\r\nNOOP\r\n".utf8)
        let shorter = Array("1,2,3,4,5,6".utf8)
        let d2 = again.withUnsafeMutableBytes { raw in
            shorter.withUnsafeBytes { FTPControlLine.replace(e, in: raw.baseAddress!, length: raw.count, room: 0, with: $0) }
        }
        #expect(d2 == -8)
        #expect(String(decoding: again[0..<(again.count - 8)], as: UTF8.self) == "PORT 1,2,3,4,5,6\r\nNOOP\r\n")
        // No room for a longer text: nothing is written.
        var tight = Array("PORT 198,18,0,100,156,64\r\n".utf8)
        let d3 = tight.withUnsafeMutableBytes { raw in
            longer.withUnsafeBytes { FTPControlLine.replace(e, in: raw.baseAddress!, length: raw.count, room: 1, with: $0) }
        }
        #expect(d3 == nil)
        #expect(String(decoding: tight, as: UTF8.self) == "PORT 198,18,0,100,156,64\r\n")
    }

    /// Random bytes after each recognised prefix, and random bytes alone: scans end in one of
    /// the three answers, and a found range lies inside the payload.
    @Test func randomPayloadsNeverTrap() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
        let prefixes = ["PORT ", "EPRT ", "227 (", "229 (", "", "EPRT |2|", "PORT 1,2,3,"]
        let alphabet = Array("0123456789,|().:abcdef \r\n!".utf8)
        var found = 0
        for i in 0..<20_000 {
            var bytes = Array(prefixes[i % prefixes.count].utf8)
            for _ in 0..<Int(next() % 48) {
                bytes.append(next() % 4 == 0 ? UInt8(truncatingIfNeeded: next()) : alphabet[Int(next() % UInt64(alphabet.count))])
            }
            for scan in [bytes.withUnsafeBytes { FTPControlLine.scanClient($0) },
                         bytes.withUnsafeBytes { FTPControlLine.scanServer($0) }] {
                if case .found(let e) = scan {
                    found += 1
                    #expect(e.start <= e.end && e.end <= bytes.count)
                }
            }
        }
        #expect(found >= 0)
    }
}
