import ArgumentParser
import Control
import Core
import Foundation
import PacketIO
import Trace

/// `lvsd replay --config RULES IN.pcap -o OUT.pcap [--trace]`: runs a capture through one
/// director offline and writes what it would send, so a forwarding method can be studied
/// frame by frame (and the output opened in Wireshark).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the frames of a pcap file through the director and write what it sends.",
        discussion: """
            Every frame of INPUT goes through one director configured by the rules file, with the \
            frame's capture time as the director's clock. Frames the director forwards or answers \
            are written to OUTPUT with the same timestamps. With --trace, each frame is printed \
            with its header fields before and after the rewrite (changed fields marked '*', \
            added '+', removed '-'), the verdict and the connection the director used. \
            --html writes the same view as a page with the changed fields highlighted; \
            --diagram writes the first connection's path for Graphviz ('dot -Tsvg'). \
            Scripts/learn.sh builds Docs/learn/ this way.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The rules file (ipvsadm syntax plus interface and neighbour lines) or keepalived.conf.", valueName: "file"))
    var config: String

    @Argument(help: ArgumentHelp("The capture to replay (Ethernet pcap or pcapng).", valueName: "input.pcap"))
    var input: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the frames the director sends.", valueName: "output.pcap"))
    var output: String

    @Flag(name: .long, help: "Print every frame's fields before and after, the verdict and the connection decision.")
    var trace = false

    @Option(name: .long, help: ArgumentHelp("Also write every frame's before/after view as HTML (changed fields highlighted, the text trace beside it).", valueName: "file.html"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Also write the first connection's path as a Graphviz graph, the rewritten fields of each hop in red (render with 'dot -Tsvg').", valueName: "file.dot"))
    var diagram: String?

    @Option(name: .long, help: "Connection table capacity.")
    var connections = 65_536

    func validate() throws {
        guard connections > 0 else { throw ValidationError("--connections must be at least 1, got \(connections).") }
    }

    func run() throws {
        let rules: DirectorConfig
        do {
            let loaded = try ConfigFile.load(path: config)
            for warning in loaded.warnings { Console.error(warning.description) }
            rules = loaded.director
        } catch {
            Console.error(error.description)
            throw ExitCode.failure
        }
        let reader: PcapFileReader
        let writer: PcapFileWriter
        do {
            reader = try PcapFileReader(path: input)
            writer = try PcapFileWriter(path: output)
        } catch {
            Console.error("lvsd replay: \(error.description)")
            throw ExitCode.failure
        }
        let replayer = Replayer(config: rules, connections: connections)
        // Kept only for --html and --diagram, which need the whole run.
        var steps: [ReplayStep] = []
        let keepSteps = html != nil || diagram != nil
        replayer.run(
            next: { buffer, offset in
                reader.next(into: buffer, at: offset).map { ($0.length, $0.timestamp.nanoseconds) }
            },
            emit: { bytes, nanoseconds in
                writer.write(bytes, timestamp: PcapTimestamp(nanoseconds: nanoseconds))
            },
            observe: { step in
                if trace { print(step.trace(interfaces: rules.interfaces) + "\n") }
                if keepSteps { steps.append(step) }
            })
        writer.close()
        let title = "lvsd replay " + (input as NSString).lastPathComponent
        do {
            if let html {
                try Data(TraceHTML.page(title: title, steps: steps, interfaces: rules.interfaces, summary: replayer.summary.text).utf8)
                    .write(to: URL(fileURLWithPath: html))
            }
            if let diagram {
                guard let dot = TraceDiagram.dot(title: title, steps: steps) else {
                    Console.error("lvsd replay: no frame in \(input) opened a connection; no diagram written")
                    throw ExitCode.failure
                }
                try Data(dot.utf8).write(to: URL(fileURLWithPath: diagram))
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Console.error("lvsd replay: cannot write --html/--diagram: \(error.localizedDescription)")
            throw ExitCode.failure
        }
        print(replayer.summary.text)
        print("wrote \(replayer.summary.forwarded + replayer.summary.answered) frames to \(output)")
        if let error = reader.lastError {
            Console.error("lvsd replay: \(error.description)")
            throw ExitCode.failure
        }
    }
}

enum Console {
    /// Operator errors go to standard error, so a trace on standard output stays clean.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
