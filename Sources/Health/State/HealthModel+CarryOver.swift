import Core

/// What the health state keeps across a reload or an lvsadm edit: each checker's verdict, keyed
/// by the real server it guards exactly as planned, and each service's quorum.
///
/// Why: a reload that restarts every checker puts every server back in the pool until its
/// first check, so a server known to be broken gets clients again right after a SIGHUP that did
/// not touch it (keepalived issues #381, #608, #1165; keepalived's check_data.c / ipwrapper.c
/// carry an unchanged checker's state over the same way). A real server whose plan changed at
/// all (address, weight, scripts, any checker setting) counts as new: its checkers start over,
/// with their warmup and `alpha`.
public struct HealthCarryOver: Sendable, Equatable {
    struct CheckerKey: Hashable, Sendable {
        var service: ServiceKey
        var realServer: RealServerHealthPlan
        /// The checker's position among the real server's checkers.
        var index: Int
    }

    struct CheckerMemory: Sendable, Equatable {
        var isUp: Bool
        var hasRun: Bool
        var retryIt: Int
        var currentWeight: Int64
        var lastFailure: CheckFailure?
    }

    struct QuorumMemory: Sendable, Equatable {
        var quorumUp: Bool
        var sorryActive: Bool
    }

    var checkers: [CheckerKey: CheckerMemory] = [:]
    var services: [ServiceKey: QuorumMemory] = [:]

    public init() {}

    /// How many checkers carry a verdict over.
    public var count: Int { checkers.count }
}

extension HealthModel {
    /// The state to hand to the next model (`start(inheriting:)`); empty before `start`.
    public var carryOver: HealthCarryOver {
        var out = HealthCarryOver()
        guard started else { return out }
        for (i, key) in carryOverKeys.enumerated() {
            let c = checkers[i]
            out.checkers[key] = HealthCarryOver.CheckerMemory(isUp: c.isUp, hasRun: c.hasRun, retryIt: c.retryIt,
                                                              currentWeight: c.currentWeight, lastFailure: c.lastFailure)
        }
        for (s, service) in plan.services.enumerated() {
            out.services[service.key] = HealthCarryOver.QuorumMemory(quorumUp: services[s].quorumUp, sorryActive: services[s].sorryActive)
        }
        return out
    }

    /// Each checker's key, in `checkers` order.
    var carryOverKeys: [HealthCarryOver.CheckerKey] {
        var out: [HealthCarryOver.CheckerKey] = []
        out.reserveCapacity(checkers.count)
        var previous: (Int, Int)?
        var index = 0
        for c in checkers {
            index = previous.map { $0 == (c.service, c.realServer) } == true ? index + 1 : 0
            previous = (c.service, c.realServer)
            let service = plan.services[c.service]
            out.append(HealthCarryOver.CheckerKey(service: service.key, realServer: service.realServers[c.realServer], index: index))
        }
        return out
    }
}
