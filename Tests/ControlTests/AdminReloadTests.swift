import Control
import Core
import Testing

/// `lvsadm --reload`: lvsd re-reads its configuration file, as on SIGHUP.
@Suite struct AdminReloadTests {
    @Test func parsesAsACommandOfItsOwn() throws {
        #expect(try LvsadmCommandLine.parse(["--reload"]).action == .reload)
        // Like -C, it takes no service or server options.
        #expect(throws: (any Error).self) { try LvsadmCommandLine.parse(["--reload", "-t", "198.18.0.10:80"]) }
    }

    @Test func theResponderCallsTheReloadHookAndPassesItsAnswerOn() {
        final class Calls: @unchecked Sendable { var count = 0; var refusal: AdminError? }
        let calls = Calls()
        let responder = AdminResponder(config: DirectorConfig(), install: { _ in nil },
                                       observe: { _ in AdminSnapshot(tableSize: 0) }, clock: { 0 },
                                       reload: { calls.count += 1; return calls.refusal })
        #expect(responder.handle(ControlRequest(.reload)) == .applied)
        calls.refusal = AdminError("lvsadm: reload refused, the running configuration stays", detail: "f:1:1: error", exitCode: 1)
        #expect(responder.handle(ControlRequest(.reload)) == .failed(calls.refusal!))
        #expect(calls.count == 2)
    }

    @Test func anLvsdWithoutAFileSaysSo() {
        let responder = AdminResponder(config: DirectorConfig(), install: { _ in nil },
                                       observe: { _ in AdminSnapshot(tableSize: 0) }, clock: { 0 })
        guard case .failed(let error) = responder.handle(ControlRequest(.reload)) else {
            Issue.record("a reload without a hook must fail")
            return
        }
        #expect(error.message.contains("no configuration file"))
    }

    @Test func lvsadmPrintsNothingOnSuccessAndTheReasonOnRefusal() throws {
        let invocation = try LvsadmCommandLine.parse(["--reload"])
        let ok = Lvsadm.run(invocation, standardInput: { "" }, send: { _ in .success(.applied) })
        #expect(ok.exitCode == 0 && ok.standardOutput.isEmpty && ok.standardError.isEmpty)
        let refusal = AdminError("lvsadm: reload refused, the running configuration stays", detail: "/etc/lvsd.conf:3:7: error: bad", exitCode: 1)
        let refused = Lvsadm.run(invocation, standardInput: { "" }, send: { _ in .success(.failed(refusal)) })
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("/etc/lvsd.conf:3:7"))
    }
}

/// `lvsadm --health`: the health checkers' view, rendered by lvsd.
@Suite struct AdminHealthTests {
    @Test func parsesAndPrintsWhatLvsdRendered() throws {
        let invocation = try LvsadmCommandLine.parse(["--health"])
        #expect(invocation.action == .health)
        let text = "  -> 198.18.1.11:80              DOWN    out     HTTP_GET\n"
        let outcome = Lvsadm.run(invocation, standardInput: { "" }, send: { request in
            request.body == .health ? .success(.text(text)) : .success(.applied)
        })
        #expect(outcome.exitCode == 0 && outcome.standardOutput == text)
    }

    @Test func theResponderAsksItsHookOrSaysThereAreNoChecks() {
        let with = AdminResponder(config: DirectorConfig(), install: { _ in nil }, observe: { _ in AdminSnapshot(tableSize: 0) },
                                  clock: { 0 }, health: { "rendered\n" })
        #expect(with.handle(ControlRequest(.health)) == .text("rendered\n"))
        let without = AdminResponder(config: DirectorConfig(), install: { _ in nil }, observe: { _ in AdminSnapshot(tableSize: 0) },
                                     clock: { 0 })
        guard case .text(let message) = without.handle(ControlRequest(.health)) else {
            Issue.record("expected a text answer")
            return
        }
        #expect(message.hasPrefix("No health checks"))
    }
}
