import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension NamespaceLab {
    /// A built `lvsd` the lab started inside a namespace, its output in a log file.
    public final class Director: @unchecked Sendable {
        public let spawned: Spawned
        public let logFile: URL
        init(spawned: Spawned, logFile: URL) {
            self.spawned = spawned
            self.logFile = logFile
        }
        public var pid: Int32 { spawned.pid }
        public var isRunning: Bool { spawned.isRunning }
        /// The log so far.
        public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    }

    /// Writes `config` to the lab's file `configName`, starts `lvsd COMMAND --config FILE`
    /// followed by `arguments` inside `ns` with its output in `log` (a fresh file in the lab's directory
    /// when nil), and waits up to `seconds` until `ready(log)` holds. Throws with the log when
    /// lvsd exits first or is not ready in time.
    @discardableResult
    public func startLVSD(in ns: String, command: [String] = [], config: String, configName: String = "rules", arguments: [String],
                          log: URL? = nil, environment: [String: String] = [:], seconds: Double = 10,
                          until ready: (String) -> Bool) throws -> Director {
        let configFile = file(configName)
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let logFile = log ?? file("lvsd-\(UInt32.random(in: 0 ... .max)).log")
        let spawned = try start(in: ns, [try BuiltExecutable.lvsd()] + command + ["--config", configFile.path] + arguments,
                                output: .file(logFile), environment: environment)
        let director = Director(spawned: spawned, logFile: logFile)
        try waitUntil("lvsd starts", seconds: seconds, context: { "lvsd log:\n\(director.log)" }) {
            !director.isRunning || ready(director.log)
        }
        guard director.isRunning else {
            throw Command.Failed(description: "lvsd exited early:\n\(director.log)")
        }
        return director
    }

    /// SIGTERM to lvsd; waits up to `seconds` for it to exit (then SIGKILL, and throws) and
    /// returns its log.
    @discardableResult
    public func stopLVSD(_ director: Director, seconds: Double = 10) throws -> String {
        guard stop(director.spawned, timeout: seconds) else {
            throw Command.Failed(description: "lvsd did not exit within \(seconds) s of SIGTERM:\n\(director.log)")
        }
        return director.log
    }

    /// `JOURNAL_STREAM`'s value for a file (device:inode, as systemd sets it for a unit's
    /// standard output), so lvsd writing to that file takes it for the journal.
    public static func journalStream(of file: URL) throws -> String {
        var st = stat()
        guard stat(file.path, &st) == 0 else {
            throw Command.Failed(description: "stat \(file.path): \(String(cString: strerror(errno)))")
        }
        return "\(st.st_dev):\(st.st_ino)"
    }
}
