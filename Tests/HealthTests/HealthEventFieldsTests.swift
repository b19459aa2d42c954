import Core
import Health
import Testing
import Wire

/// What the log's fields and the duration metric read from the health state machine: a
/// checker's failure names the checker kind and the reason on its event and on the real
/// server's removal, and each checker keeps how long its last check took.
@Suite struct HealthEventFieldsTests {
    @Test func failureEventsCarryCheckerAndReasonAndChecksTheirDuration() {
        var plan = HealthPlan(base: baseConfig(weights: [1, 1, 1]))
        for i in plan.services[0].realServers.indices {
            plan.services[0].realServers[i].checkers = [tcpChecker(plan.services[0].realServers[i].endpoint, timing(retry: 0))]
        }
        var model = HealthModel(plan: plan, start: .zero, seed: 1)
        _ = model.start()
        let report = model.record(refused, for: CheckerID(1), at: .milliseconds(1250), begun: .seconds(1))
        #expect(report.events.map(\.kind) == [.checkerDown, .realServerDown])
        let down = report.events.first { $0.kind == .checkerDown }
        #expect(down?.checker == .tcp)
        #expect(down?.reason == "connection refused")
        let removal = report.events.first { $0.kind == .realServerDown }
        #expect(removal?.realServer == rs2)
        #expect(removal?.reason == "connection refused")
        #expect(model.status[0].realServers[1].checkers[0].lastDuration == .milliseconds(250))
        // A checker that has not finished a check has no duration; one recorded without a
        // start keeps none either.
        #expect(model.status[0].realServers[0].checkers[0].lastDuration == nil)
        _ = model.record(.success(), for: CheckerID(0), at: .seconds(2))
        #expect(model.status[0].realServers[0].checkers[0].lastDuration == nil)
        // Coming back has no reason.
        let back = model.record(.success(), for: CheckerID(1), at: .seconds(3), begun: .seconds(3))
        #expect(back.events.map(\.kind) == [.checkerUp, .realServerUp])
        #expect(back.events.allSatisfy { $0.reason == nil })
        #expect(model.status[0].realServers[1].checkers[0].lastDuration == .zero)
    }
}
