import ArgumentParser
import Control
import Core
import Foundation

/// `lvsd check --config FILE` (also `lvsd run --config FILE --check`): reads a rules file or
/// a keepalived.conf exactly as `lvsd run` would, touches nothing (no root, no interfaces),
/// and prints the services it would run in `ipvsadm -S -n` form, so the output is itself a
/// rules file. Warnings and errors go to standard error in `file:line:col:` form; the exit
/// status is 0 for a valid configuration and 1 otherwise.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration and print what the director would run.",
        discussion: """
            The file may be an ipvsadm rules file or a keepalived.conf (told apart by its first \
            statement). Standard output gets the services in 'ipvsadm -S -n' form after a comment \
            line describing the file; standard error gets one line per warning (options read but \
            not acted on) and, when the file is invalid, the error with its file, line and column.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The rules file or keepalived.conf to check.", valueName: "file"))
    var config: String

    func run() throws {
        try Self.check(path: config)
    }

    static func check(path: String) throws {
        let loaded: ConfigFile.Loaded
        do {
            loaded = try ConfigFile.load(path: path)
        } catch {
            Console.error(error.description)
            throw ExitCode.failure
        }
        for warning in loaded.warnings { Console.error(warning.description) }
        for line in summary(loaded, path: path) { print("# " + line) }
        print(RulesWriter.save(loaded.director), terminator: "")
    }

    /// What was read, as comment lines above the rules.
    static func summary(_ loaded: ConfigFile.Loaded, path: String) -> [String] {
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        let services = loaded.director.services
        var lines = ["\(path): \(loaded.format.rawValue), \(count(services.count, "virtual service")), "
            + "\(count(services.reduce(0) { $0 + $1.realServers.count }, "real server"))"]
        if let keepalived = loaded.keepalived {
            let checkers = keepalived.checkers.count
            let vrrp = keepalived.vrrp.instances.count
            if checkers > 0 || vrrp > 0 {
                lines.append("run by lvsd run: \(count(checkers, "health check")), \(count(vrrp, "VRRP instance"))")
            }
            if loaded.files.count > 1 { lines.append("files read: " + loaded.files.joined(separator: ", ")) }
        }
        if !loaded.warnings.isEmpty { lines.append(count(loaded.warnings.count, "warning") + " on standard error") }
        return lines
    }
}
