/// Why an lvsadm command was refused, in ipvsadm's words first.
///
/// `message` is exactly what ipvsadm 1.31 prints for the same mistake: its own
/// `fail()` sentences from ipvsadm.c ("illegal weight specified", "Zero port specified for
/// non-persistent service") or, for what the kernel refuses, libipvs's `ipvs_strerror`
/// table ("Service already exists", "No such destination"), so scripts that match them keep
/// working. `detail` is SwiftLVS's sentence saying which value was wrong and what to do; the
/// CLI prints it on a second line. `exitCode` is ipvsadm's: 2 for `fail(2, ...)`, 255 for
/// a refused kernel call (`return -1` from main) and for `tryhelp_exit(..., -1)`, 1 for a
/// listing that cannot be produced.
public struct AdminError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The part of the command an error is about, so a rules file can point at its column.
    public enum Subject: String, Sendable, Hashable, Codable {
        case command, service, scheduler, realServer, lowerThreshold, localAddress
    }

    public var message: String
    public var detail: String?
    public var exitCode: Int32
    public var subject: Subject
    /// In a batch (`-R`), the position of the command that failed.
    public var commandIndex: Int?

    public init(_ message: String, detail: String? = nil, exitCode: Int32, subject: Subject = .command) {
        self.message = message
        self.detail = detail
        self.exitCode = exitCode
        self.subject = subject
    }

    /// What lvsadm writes to stderr: ipvsadm's line, then SwiftLVS's detail if any.
    public var description: String {
        guard let detail, detail != message else { return message }
        return message + "\n" + detail
    }

    // MARK: ipvsadm's exit codes

    /// `fail(2, ...)`: a bad command line.
    public static let usageExit: Int32 = 2
    /// `exit(-1)` / `return -1`: a refused operation or `tryhelp_exit`.
    public static let operationExit: Int32 = 255
    /// `exit(1)`: a listing that could not be produced.
    public static let listingExit: Int32 = 1

    /// A command-line mistake (`fail(2, ...)`).
    static func usage(_ message: String, detail: String? = nil) -> AdminError {
        AdminError(message, detail: detail, exitCode: usageExit)
    }

    /// An operation the table refuses, in `ipvs_strerror`'s words.
    static func refused(_ message: String, detail: String, subject: Subject) -> AdminError {
        AdminError(message, detail: detail, exitCode: operationExit, subject: subject)
    }
}
