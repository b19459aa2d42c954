import AdminHarness
import Control

// libFuzzer target: lvsadm's command line. The input's first line is argv (words split at
// spaces, as a shell without quoting would; two spaces make an empty word); what follows the
// first newline is standard input, which `-R` reads. The command runs against an in-process
// lvsd side (AdminHarness), so the parsed commands reach AdminEditor, the director and the
// listings.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let newline = bytes.firstIndex(of: 10) ?? size
    let line = String(decoding: bytes[0..<newline], as: UTF8.self)
    let input = newline < size ? String(decoding: bytes[(newline + 1)...], as: UTF8.self) : ""
    let arguments = line.isEmpty ? [] : line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)

    let invocation: LvsadmInvocation
    do {
        invocation = try LvsadmCommandLine.parse(arguments)
    } catch {
        _ = error.description
        return 0
    }
    _ = Lvsadm.socketPath(invocation, environment: [:])
    let lvsd = AdminHarness()
    let outcome = Lvsadm.run(invocation, standardInput: { input }, send: { .success(lvsd.responder.handle($0)) })
    precondition(outcome.exitCode >= 0 && outcome.exitCode <= 255, "exit code \(outcome.exitCode)")
    return 0
}
