import ArgumentParser
import Foundation
import PacketIO

/// `lvsd make-samples --output DIR` (hidden): regenerates `Samples/<mode>.rules` and
/// `Samples/<mode>.pcap` from the descriptions in `Sources/lvsd/Samples/`, byte for byte
/// the same each time (fixed timestamps, no randomness).
struct MakeSamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-samples",
        abstract: "Write the sample rules files and captures used by Scripts/demo.sh.",
        shouldDisplay: false
    )

    @Option(name: .long, help: ArgumentHelp("The directory to write into (created if missing).", valueName: "dir"))
    var output: String

    static var samples: [Sample] { [.nat, .directRouting, .fullNAT, .tunnel] }

    func run() throws {
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            Console.error("lvsd make-samples: cannot create directory '\(output)': \(error.localizedDescription)")
            throw ExitCode.failure
        }
        for sample in Self.samples {
            let base = (output as NSString).appendingPathComponent(sample.mode)
            do {
                try Data(sample.rules.utf8).write(to: URL(fileURLWithPath: base + ".rules"))
                let writer = try PcapFileWriter(path: base + ".pcap")
                for (i, frame) in sample.frames.enumerated() {
                    writer.write(frame, timestamp: PcapTimestamp(seconds: Lab.startSeconds, microseconds: 1_000 * (i + 1)))
                }
                writer.close()
            } catch {
                Console.error("lvsd make-samples: cannot write \(base).rules/.pcap: \(error)")
                throw ExitCode.failure
            }
            print("wrote \(base).rules and \(base).pcap (\(sample.frames.count) frames)")
        }
    }
}
