import Foundation
import PacketIO
import TestSupport
import Testing

/// PcapFileReader / PcapFileWriter: round trips through libpcap, truncation, refusal of
/// files the director cannot use, and a cross-check with tshark as an independent reader.
@Suite struct PcapFileTests {
    // MARK: Round trip

    @Test func writtenFramesReadBackByteExactWithTimestamps() throws {
        let file = TemporaryFile("roundtrip")
        defer { file.remove() }
        let frames: [(bytes: [UInt8], timestamp: PcapTimestamp)] = [
            (pattern(length: 60, seed: 1), PcapTimestamp(seconds: 1_700_000_000, microseconds: 0)),
            (pattern(length: 1514, seed: 2), PcapTimestamp(seconds: 1_700_000_000, microseconds: 999_999)),
            (pattern(length: 14, seed: 3), PcapTimestamp(seconds: 1_700_000_001, microseconds: 42)),
            (pattern(length: 9000, seed: 4), PcapTimestamp(seconds: 0, microseconds: 1)),
        ]
        let writer = try PcapFileWriter(path: file.path)
        for frame in frames { writer.write(frame.bytes, timestamp: frame.timestamp) }
        writer.close()

        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for frame in frames {
            let record = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) })
            #expect(record.length == frame.bytes.count)
            #expect(record.originalLength == frame.bytes.count)
            #expect(record.timestamp == frame.timestamp)
            #expect(record.truncated == false)
            #expect(Array(buffer[0..<record.length]) == frame.bytes)
        }
        #expect(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) } == nil)
        #expect(reader.lastError == nil)
        reader.close()
    }

    @Test func rawBufferWriteAndOffsetRead() throws {
        let file = TemporaryFile("offset")
        defer { file.remove() }
        let frame = pattern(length: 64, seed: 9)
        let writer = try PcapFileWriter(path: file.path)
        frame.withUnsafeBytes { writer.write($0, timestamp: PcapTimestamp(seconds: 5, microseconds: 6)) }
        writer.close()

        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0xEE, count: 128)
        let record = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 32) })
        #expect(record.length == 64)
        #expect(record.truncated == false)
        #expect(Array(buffer[32..<96]) == frame)
        #expect(buffer[0..<32].allSatisfy { $0 == 0xEE })
        #expect(buffer[96...].allSatisfy { $0 == 0xEE })
    }

    @Test func emptyFileHasNoRecords() throws {
        let file = TemporaryFile("empty")
        defer { file.remove() }
        try PcapFileWriter(path: file.path).close()
        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) } == nil)
        #expect(reader.lastError == nil)
    }

    // MARK: Truncation

    @Test func recordLongerThanSpaceLeftIsTruncatedToFit() throws {
        let file = TemporaryFile("truncate")
        defer { file.remove() }
        let frame = pattern(length: 100, seed: 7)
        let writer = try PcapFileWriter(path: file.path)
        writer.write(frame, timestamp: PcapTimestamp(seconds: 10, microseconds: 20))
        writer.write(frame, timestamp: PcapTimestamp(seconds: 11, microseconds: 21))
        writer.close()

        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0, count: 64)
        let first = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 10) })
        #expect(first.length == 54)
        #expect(first.originalLength == 100)
        #expect(first.truncated)
        #expect(first.timestamp == PcapTimestamp(seconds: 10, microseconds: 20))
        #expect(Array(buffer[10..<64]) == Array(frame[0..<54]))

        // No space at all: the record is still consumed and reported.
        let second = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 64) })
        #expect(second.length == 0)
        #expect(second.originalLength == 100)
        #expect(second.truncated)
        #expect(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) } == nil)
    }

    @Test func writerStoresAtMostSnapLengthAndKeepsOriginalLength() throws {
        let file = TemporaryFile("snaplen")
        defer { file.remove() }
        let frame = pattern(length: 200, seed: 5)
        let writer = try PcapFileWriter(path: file.path, snapLength: 128)
        writer.write(frame, timestamp: PcapTimestamp(seconds: 1, microseconds: 2))
        writer.close()

        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0, count: 1024)
        let record = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) })
        #expect(record.length == 128)
        #expect(record.originalLength == 200)
        #expect(record.truncated == false)
        #expect(Array(buffer[0..<128]) == Array(frame[0..<128]))
    }

    // MARK: Files the director cannot use

    @Test func nonEthernetLinkTypeIsRefusedNamingFileAndLinkType() throws {
        let file = TemporaryFile("raw-ip")
        defer { file.remove() }
        // Classic little-endian pcap header with LINKTYPE_RAW (101) and one 20-byte record.
        var bytes = fileHeader(linkType: 101)
        bytes += recordHeader(capturedLength: 20, originalLength: 20) + [UInt8](repeating: 0x45, count: 20)
        try file.write(bytes)

        let error = #expect(throws: PcapError.self) { try PcapFileReader(path: file.path) }
        let message = try #require(error).description
        #expect(message.contains(file.path))
        // libpcap maps LINKTYPE_RAW (101 in the file) to its DLT_RAW and names it "RAW".
        #expect(message.contains("link type RAW"))
        #expect(message.contains("Ethernet"))
    }

    @Test func corruptFileIsRefusedNamingFile() throws {
        let file = TemporaryFile("garbage")
        defer { file.remove() }
        try file.write(Array("this is not a capture file, just text\n".utf8))

        let error = #expect(throws: PcapError.self) { try PcapFileReader(path: file.path) }
        let message = try #require(error).description
        #expect(message.contains(file.path))
        #expect(message.contains("Cannot read pcap file"))
    }

    @Test func missingFileIsRefusedNamingFile() throws {
        let path = TemporaryFile("missing").path
        let error = #expect(throws: PcapError.self) { try PcapFileReader(path: path) }
        #expect(try #require(error).description.contains(path))
    }

    @Test func recordCutShortByEndOfFileIsReportedAsError() throws {
        let file = TemporaryFile("cut-short")
        defer { file.remove() }
        var bytes = fileHeader(linkType: 1)
        bytes += recordHeader(capturedLength: 60, originalLength: 60) + pattern(length: 60, seed: 1)
        bytes += recordHeader(capturedLength: 100, originalLength: 100) + pattern(length: 10, seed: 2)
        try file.write(bytes)

        let reader = try PcapFileReader(path: file.path)
        var buffer = [UInt8](repeating: 0, count: 256)
        let first = try #require(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) })
        #expect(first.length == 60)
        #expect(reader.lastError == nil)
        #expect(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) } == nil)
        let error = try #require(reader.lastError)
        #expect(error.description.contains(file.path))
    }

    @Test func writerInUnwritableDirectoryFailsNamingFile() throws {
        let path = "/nonexistent-swiftlvs-directory/out.pcap"
        let error = #expect(throws: PcapError.self) { try PcapFileWriter(path: path) }
        #expect(try #require(error).description.contains(path))
    }

    @Test func closeIsIdempotent() throws {
        let file = TemporaryFile("close")
        defer { file.remove() }
        let writer = try PcapFileWriter(path: file.path)
        writer.write(pattern(length: 60, seed: 0), timestamp: PcapTimestamp(seconds: 0, microseconds: 0))
        writer.close()
        writer.close()
        let reader = try PcapFileReader(path: file.path)
        reader.close()
        reader.close()
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { reader.next(into: $0, at: 0) } == nil)
    }

    // MARK: Independent reader

    @Test func tsharkReadsWrittenFile() throws {
        let tshark = try #require(
            Self.locate("tshark"),
            "tshark is not installed or not on PATH; run 'bash Scripts/install-deps.sh' as root (Debian package tshark)")
        let file = TemporaryFile("tshark")
        defer { file.remove() }
        let lengths = [60, 98, 1514, 64]
        let writer = try PcapFileWriter(path: file.path)
        for (index, length) in lengths.enumerated() {
            writer.write(ethernetFrame(length: length, seed: UInt8(index)),
                         timestamp: PcapTimestamp(seconds: 1_700_000_000 + index, microseconds: index * 1000))
        }
        writer.close()

        let result = try Command.run(tshark, ["-n", "-r", file.path, "-T", "fields", "-e", "frame.len",
                                           "-e", "frame.time_epoch"])
        #expect(result.status == 0, "tshark failed: \(result.stderr)")
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0.first } == lengths.map { String($0) })
        let times = rows.map { $0.count > 1 ? $0[1] : "" }
        #expect(times == lengths.indices.map { "\(1_700_000_000 + $0).00\($0)000000" })
    }

    // MARK: Helpers

    /// A frame-sized byte pattern that differs per seed and position.
    private func pattern(length: Int, seed: UInt8) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) }
    }

    /// An Ethernet II frame (locally administered MACs, experimental EtherType 0x88B5)
    /// padded with a pattern, so tshark decodes it without complaint.
    private func ethernetFrame(length: Int, seed: UInt8) -> [UInt8] {
        let header: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xB5]
        return header + pattern(length: length - header.count, seed: seed)
    }

    /// The 24-byte classic pcap file header, little-endian, microsecond resolution.
    private func fileHeader(linkType: UInt32) -> [UInt8] {
        le32(0xA1B2_C3D4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65_535) + le32(linkType)
    }

    /// A 16-byte classic pcap record header.
    private func recordHeader(capturedLength: UInt32, originalLength: UInt32) -> [UInt8] {
        le32(1) + le32(0) + le32(capturedLength) + le32(originalLength)
    }

    private func le16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    private func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    static func locate(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        return directories.map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A unique path under the temporary directory; the test removes it when done.
private struct TemporaryFile {
    let path: String

    init(_ name: String) {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlvs-pcap-\(name)-\(UUID().uuidString).pcap").path
    }

    func write(_ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
