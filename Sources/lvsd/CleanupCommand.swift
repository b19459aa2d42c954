import ArgumentParser
import Engine

/// `lvsd cleanup`: puts back the host settings an lvsd that was killed left behind in this
/// network namespace (forwarding sysctls, the nftables table), from its journal under
/// /run/lvsd. A normal start does the same first; this is for a director that will not be
/// started again.
struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Undo the host settings a killed lvsd left in this network namespace.",
        discussion: """
            lvsd writes each host setting it changes to /run/lvsd before making it and \
            removes the record when it has undone them at exit. After a crash or kill -9 the \
            record stays: the next lvsd start in the same namespace puts the settings back \
            first, and so does this command. Run it in the director's namespace, as root.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where the records are.", visibility: .hidden))
    var journalDirectory: String = HostSettings.journalDirectory

    func run() throws {
        let host = HostSettings(logger: DaemonLog.logger(level: .info), journalDirectory: journalDirectory)
        if !host.recoverLeftovers() {
            print("lvsd cleanup: nothing recorded in \(journalDirectory) for this network namespace")
        }
    }
}
