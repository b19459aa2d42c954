import AdminHarness
import Control

// libFuzzer target: a control-socket message. Byte 0 chooses the side:
//   even: lvsd reading a request, as ControlSocketServer does: the 4-byte length header
//         (ControlFrame.bodyLength), the JSON body (ControlFrame.decode), the version check,
//         AdminResponder.handle against an in-process director, the answer encoded;
//   odd:  lvsadm reading lvsd's answer (a JSON ControlResponse body) and rendering it for
//         one of the listing/saving/applying command lines, (byte 0 >> 1) picks which.

let commandLines: [[String]] = [
    ["-L", "-n"], ["-L", "-n", "-c"], ["-S", "-n"], ["-S"], ["-L", "-n", "--stats"], ["-L", "-n", "--rate"],
    ["-L", "-n", "--thresholds"], ["-L", "-n", "--persistent-conn"], ["-L", "-n", "--exact", "--stats"],
    ["-L", "-t", "198.18.0.10:80", "-n"], ["-G", "-t", "[2001:db8::10]:80"], ["-A", "-t", "198.18.0.9:80"],
    ["--health"], ["--reload"], ["-L", "-n", "--sort"], ["-L", "--tun-info", "-n"],
]
let invocations: [LvsadmInvocation] = commandLines.compactMap { try? LvsadmCommandLine.parse($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 {
        guard rest.count >= ControlFrame.headerLength else { return 0 }
        let length: Int
        do {
            length = try ControlFrame.bodyLength(header: rest[0..<ControlFrame.headerLength])
        } catch {
            _ = error.description
            return 0
        }
        let body = rest[ControlFrame.headerLength...]
        guard body.count >= length else { return 0 }  // readFrame waits for the rest, then times out
        let request: ControlRequest
        do {
            request = try ControlFrame.decode(ControlRequest.self, body: body.prefix(length))
        } catch {
            _ = error.description
            return 0
        }
        guard request.version == ControlRequest.currentVersion else {
            _ = try? ControlFrame.encode(ControlResponse.unsupportedVersion(request.version))
            return 0
        }
        let lvsd = AdminHarness()
        let response = lvsd.responder.handle(request)
        _ = try? ControlFrame.encode(response)
    } else {
        let response: ControlResponse
        do {
            response = try ControlFrame.decode(ControlResponse.self, body: rest)
        } catch {
            return 0
        }
        let invocation = invocations[Int(data[0] >> 1) % invocations.count]
        let outcome = Lvsadm.run(invocation, standardInput: { "" }, send: { _ in .success(response) })
        precondition(outcome.exitCode >= 0 && outcome.exitCode <= 255, "exit code \(outcome.exitCode)")
    }
    return 0
}
