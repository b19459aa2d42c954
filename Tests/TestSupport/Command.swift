import Foundation

/// The one way the tests run programs and look at processes: a program run to
/// completion with extra environment variables and both pipes read concurrently (a chatty
/// stderr cannot block it), `ip` that must succeed, and the /proc and `ip netns` lookups
/// the lab suites share.
public enum Command {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// `stdin`, when given, is written whole and closed; otherwise the program reads /dev/null.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = stdin.map { _ in Pipe() }
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
        if let input, let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        let errors = Drained(err)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), errors.text)
    }

    /// `ip ARGUMENTS`, which must succeed; the error carries its stderr.
    public static func ip(_ arguments: [String]) throws {
        let run = try run("/usr/sbin/ip", arguments)
        guard run.status == 0 else {
            throw Failed(description: "ip \(arguments.joined(separator: " ")) exited \(run.status): \(run.stderr)")
        }
    }

    /// The processes in network namespace `namespace` (`ip netns pids`).
    public static func pids(in namespace: String) -> [Int32] {
        let out = (try? run("/usr/sbin/ip", ["netns", "pids", namespace]).stdout) ?? ""
        return out.split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Running, and not a zombie (an orphaned lvsd may stay one if init does not reap it).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    /// The file's sha256 in hex (sha256sum), empty when it cannot be read.
    public static func sha256(_ path: String) -> String {
        let out = (try? run("/usr/bin/sha256sum", [path]).stdout) ?? ""
        return String(out.prefix { $0 != " " })
    }

    /// A pipe read to its end on a thread of its own; `text` waits for the end.
    public final class Drained: @unchecked Sendable {
        // Safety (@unchecked): `data` is written once on the reading thread before
        // `done` is signalled, and read only after waiting for it.
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        public init(_ pipe: Pipe) {
            Thread.detachNewThread { [self] in
                data = pipe.fileHandleForReading.readDataToEndOfFile()
                done.signal()
            }
        }
        public var text: String {
            done.wait()
            done.signal()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
