import ArgumentParser
import Foundation
import Observability

/// `lvsd monitor-user NAME`: reads a password on standard input and prints the
/// `NAME:bcrypt-hash` line `--monitor-users` files hold (as `htpasswd -nB` does).
struct MonitorUserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor-user",
        abstract: "Print a --monitor-users line (user:bcrypt-hash) for a password read from standard input."
    )

    @Argument(help: "The user name (no ':').")
    var name: String

    func validate() throws {
        guard !name.isEmpty, !name.contains(":"), !name.contains(where: \.isNewline) else {
            throw ValidationError("the user name must be non-empty, without ':' or line breaks; got '\(name)'.")
        }
    }

    func run() throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            Console.error("lvsd monitor-user: give the password on standard input, e.g. echo 'secret' | lvsd monitor-user \(name)")
            throw ExitCode.failure
        }
        print(MonitorAccess.credentialsLine(user: name, password: password))
    }
}
