import Core
import Health
import Testing
import Wire

/// Health state across a reload or an lvsadm edit (keepalived #381, #608, #1165): a real
/// server the change did not touch keeps its verdict, with no notify or omega script and no
/// "Activating" line; an edited one starts over.
@Suite struct HealthCarryOverTests {
    /// rs2 failed: retry 0, one refused check takes it out.
    func withRS2Down(_ plan: HealthPlan) -> HealthModel {
        var m = HealthModel(plan: plan, start: .zero, seed: 1)
        _ = m.start()
        let r = m.record(refused, for: CheckerID(1), at: .seconds(1))
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown])
        return m
    }

    func plan(omega: Bool = true, notify: Bool = true, weight2: Int32 = 1) -> HealthPlan {
        var plan = HealthPlan(base: baseConfig(weights: [1, weight2, 1]))
        plan.services[0].omega = omega
        plan.services[0].quorumDownScript = ScriptCommand(["/bin/true", "qdown"])
        plan.services[0].quorumUpScript = ScriptCommand(["/bin/true", "qup"])
        for i in plan.services[0].realServers.indices {
            let endpoint = plan.services[0].realServers[i].endpoint
            plan.services[0].realServers[i].checkers = [tcpChecker(endpoint, timing(retry: 0))]
            if notify {
                plan.services[0].realServers[i].notifyDown = ScriptCommand(["/bin/true", "down", "\(endpoint)"])
                plan.services[0].realServers[i].notifyUp = ScriptCommand(["/bin/true", "up", "\(endpoint)"])
            }
        }
        return plan
    }

    @Test func aDownServerStaysDownAcrossAnUntouchedReload() {
        let old = withRS2Down(plan())
        let carried = old.carryOver
        #expect(carried.count == 3)

        var next = HealthModel(plan: plan(), start: .seconds(5), seed: 2)
        let report = next.start(inheriting: carried)
        // Out of the table before any check of the new model ran.
        #expect(weights(next.desiredConfig(from: baseConfig())) == [rs1: 1, rs3: 1])
        #expect(report.scripts.isEmpty, "a reload ran scripts: \(report.scripts)")
        #expect(!report.events.contains { $0.message.hasPrefix("Activating healthchecker") }, "\(report.events)")
        #expect(next.status[0].realServers.map(\.alive) == [true, false, true])
        #expect(next.status[0].realServers[1].checkers[0].lastFailure == CheckFailure("connection refused"))

        // Down stays down on another failure (no notify again), and comes back on a success.
        var r = next.record(refused, for: CheckerID(1), at: .seconds(6))
        #expect(r.events.isEmpty && r.scripts.isEmpty && !r.desiredChanged)
        r = next.record(.success(), for: CheckerID(1), at: .seconds(16))
        #expect(r.events.map(\.kind) == [.checkerUp, .realServerUp])
        #expect(r.scripts.map(\.reason) == ["notify_up for 198.18.1.12:80 of VS TCP 198.18.0.100:80"])
        // The untouched servers' first results after the reload confirm their state silently.
        r = next.record(.success(), for: CheckerID(0), at: .seconds(7))
        #expect(r.events.isEmpty && r.scripts.isEmpty)
    }

    @Test func anEditedServerStartsOver() {
        let old = withRS2Down(plan())
        // rs2's weight changed: it is a new server to the health state.
        var next = HealthModel(plan: plan(weight2: 3), start: .seconds(5), seed: 2)
        let report = next.start(inheriting: old.carryOver)
        #expect(weights(next.desiredConfig(from: baseConfig(weights: [1, 3, 1]))) == [rs1: 1, rs2: 3, rs3: 1])
        #expect(report.events.filter { $0.message.hasPrefix("Activating healthchecker") }.map(\.realServer) == [rs2])
        #expect(report.scripts.isEmpty)
    }

    @Test func quorumStateIsKeptSoQuorumScriptsDoNotRerun() {
        var p = plan()
        p.services[0].quorum = 3
        var old = HealthModel(plan: p, start: .zero, seed: 1)
        let first = old.start()
        #expect(first.scripts.map(\.reason) == ["quorum_up for VS TCP 198.18.0.100:80"])
        let lost = old.record(refused, for: CheckerID(1), at: .seconds(1))
        #expect(lost.scripts.map(\.reason).contains("quorum_down for VS TCP 198.18.0.100:80"))

        var next = HealthModel(plan: p, start: .seconds(5), seed: 2)
        let report = next.start(inheriting: old.carryOver)
        #expect(report.scripts.isEmpty, "quorum scripts ran again on reload: \(report.scripts)")
        #expect(!report.events.contains { $0.kind == .quorumGained || $0.kind == .quorumLost })
        #expect(next.status[0].quorumUp == false)
    }

    @Test func alphaStillAppliesToNewServersOnly() {
        var p = plan(notify: false)
        for i in p.services[0].realServers.indices { p.services[0].realServers[i].checkers[0].timing.alpha = true }
        var old = HealthModel(plan: p, start: .zero, seed: 1)
        _ = old.start()
        for i in 0..<3 { _ = old.record(.success(), for: CheckerID(i), at: .seconds(1)) }
        // A fourth server joins: it starts down (alpha); the three keep their UP verdict.
        let rs4 = ep("198.18.1.14", 80)
        var p2 = p
        var added = p.services[0].realServers[0]
        added.endpoint = rs4
        added.checkers = [tcpChecker(rs4, p.services[0].realServers[0].checkers[0].timing)]
        p2.services[0].realServers.append(added)
        var next = HealthModel(plan: p2, start: .seconds(5), seed: 2)
        _ = next.start(inheriting: old.carryOver)
        let base4 = baseConfig([rs1, rs2, rs3, rs4])
        #expect(weights(next.desiredConfig(from: base4)) == [rs1: 1, rs2: 1, rs3: 1])
    }

    @Test func runnerAppliesTheInheritedTableBeforeItsFirstCheck() throws {
        let old = withRS2Down(plan(notify: false))
        let runner = try HealthRunner(plan: plan(notify: false), base: baseConfig(), inheriting: old.carryOver) { _ in }
        #expect(weights(runner.initialDesired) == [rs1: 1, rs3: 1])
        #expect(runner.inheritedCheckers == 3)
        let fresh = try HealthRunner(plan: plan(notify: false), base: baseConfig()) { _ in }
        #expect(weights(fresh.initialDesired) == [rs1: 1, rs2: 1, rs3: 1])
        #expect(fresh.inheritedCheckers == 0)
    }
}
