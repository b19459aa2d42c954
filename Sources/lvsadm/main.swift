import AdminSocket
import Control
import Foundation

// lvsadm: ipvsadm's command line against a running lvsd. Wiring only: parse argv
// (Control.LvsadmCommandLine), exchange one message over the control socket
// (AdminSocket.ControlSocketClient), print what Control.Lvsadm renders, exit as ipvsadm does.

let arguments = Array(CommandLine.arguments.dropFirst())
let program = "lvsadm"
let outcome: LvsadmOutcome
do {
    let invocation = try LvsadmCommandLine.parse(arguments, program: program)
    let socket = Lvsadm.socketPath(invocation, environment: ProcessInfo.processInfo.environment)
    outcome = Lvsadm.run(invocation, program: program, standardInput: {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }, send: { ControlSocketClient.send($0, to: socket) })
} catch {
    outcome = LvsadmOutcome(standardError: error.description + "\n", exitCode: error.exitCode)
}
FileHandle.standardOutput.write(Data(outcome.standardOutput.utf8))
FileHandle.standardError.write(Data(outcome.standardError.utf8))
exit(outcome.exitCode)
