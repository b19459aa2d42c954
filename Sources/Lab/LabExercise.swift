import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One check: what the seed's author (or the exercise) looked at, and what this run saw.
struct LabCheck {
    var what: String
    var held: Bool
    var detail: String
    /// Something shown, not judged (what lvsd counted while broken, which depends on which
    /// ARP answer the client kept); not part of the verdict.
    var isNote = false

    var line: String { "  \(isNote ? "seen  " : held ? "held  " : "FAILED") \(what): \(detail)" }
}

/// Runs one `LabScenario` and prints its checks and verdict.
public final class LabExercise {
    public let scenario: LabScenario
    public let run: LabRun
    let plan: LabPlan
    let shell: LabShell
    let step: Bool
    /// What the exercise saw in the broken state, for the checks after the run.
    var arpBefore: [String] = []
    var arpAfter: [String] = []
    var neighbourBefore = ""
    var addressErrors: (before: Int, after: Int) = (0, 0)
    var ipBefore: [String: Int] = [:]
    var ipAfter: [String: Int] = [:]

    /// `step`: explain each stage first; wait for Enter only when standard input is a terminal.
    public init(scenario: LabScenario, id: String, shell: LabShell, engine: String, namespacePrefix: String = "lvsl", step: Bool) {
        self.scenario = scenario
        self.shell = shell
        self.step = step
        var plan = LabPlan(id: id, mode: scenario.mode, ipv6: false, persistence: scenario.persistence,
                           servers: scenario.servers, namespacePrefix: namespacePrefix)
        plan.ftp = scenario == .seed(.turbolinux003)
        self.plan = plan
        run = LabRun(plan: plan, shell: shell, engine: engine, workers: 1, pinNeighbours: false, quiet: false)
    }

    public var namespaces: [String] { plan.namespaces }

    /// Builds and runs the lab, prints the report, the checks and the verdict line; returns
    /// whether the verdict is a pass. The caller cleans up (`run.cleanUp()`).
    public func execute() throws -> Bool {
        if step {
            run.stage = { [self] stage in explain(stage) }
        }
        var later: [LabPlan.Phase] = []
        if case .breakStep(let b) = scenario {
            later = [plan.phase]
            run.afterRealServers = { [self] in try breakStep(b) }
            run.beforeLaterPhase = { [self] _ in try observeAndFix(b) }
        }
        let report = try run.execute(requests: scenario.requests, then: later)
        print("")
        print(report.text)
        let checks: [LabCheck]
        switch scenario {
        case .seed(let seed): checks = try seedChecks(seed, report: report)
        case .breakStep(let b): checks = breakChecks(b, report: report)
        }
        print("")
        print(scenario.heading)
        for check in checks { print(check.line) }
        let judged = checks.filter { !$0.isNote }
        let held = judged.filter(\.held).count
        let passed = held == judged.count
        print("")
        print("verdict: \(scenario.name) \(passed ? (scenario.isBreak ? "PASSED: the failure showed and the fix worked" : "PASSED: every check held") : "FAILED") (\(held) of \(judged.count) checks held)")
        return passed
    }

    private func explain(_ stage: LabStage) {
        print("")
        print(wrap(scenario.explanation(stage, plan: plan)))
        if isatty(STDIN_FILENO) == 1 {
            print("  [press Enter to continue]", terminator: "")
            fflush(nil)
            _ = readLine()
        }
        fflush(nil)
    }

    private func wrap(_ text: String, width: Int = 92) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > width {
                lines.append(line)
                line = "  "
            } else if !line.isEmpty && line != "  " {
                line += " "
            }
            line += word
        }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }
}
