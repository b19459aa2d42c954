import Control
import Core
import Health
import Observability
import VRRP

/// What `--metrics-listen` and `--ipvs-procfs` export, read the way `lvsadm -L --stats`
/// reads it: the responder's snapshot (counters since the last -Z, estimator rates), each
/// worker's own counters read on its thread between batches, the checkers and VRRP.
extension Daemon {
    func observation() -> DirectorObservation {
        let snapshot: AdminSnapshot
        if case .snapshot(let s) = responder.handle(ControlRequest(.snapshot(includeConnections: false))) {
            snapshot = s
        } else {
            snapshot = AdminSnapshot(config: live.config, tableSize: 0)
        }
        let parts = WorkerObservations(count: live.directors.count)
        live.withEachWorker { index, director, engine in
            var worker = WorkerObservation(index: index, director: director)
            worker.engine = engine.named.map { WorkerObservation.EngineEvent(name: $0.name, count: $0.value) }
            parts.store(worker, at: index)
        }
        let (services, transitions) = healthStatus()
        let health = services.flatMap { service in
            service.realServers.map { rs in
                RealServerHealthObservation(
                    service: service.key, endpoint: rs.endpoint, alive: rs.alive, tableWeight: rs.tableWeight,
                    transitions: transitions[HealthTransitionKey(service: service.key, endpoint: rs.endpoint)] ?? 0,
                    checkers: rs.checkers.map { checker in
                        CheckerObservation(kind: checker.kind.description, up: checker.up,
                                           lastFailure: checker.lastFailure.map { "\($0)" },
                                           lastDuration: checker.lastDuration.map(Self.seconds))
                    })
            }
        }
        let vrrp = (self.vrrp?.status ?? []).map { instance in
            VRRPObservation(name: instance.name, state: instance.state.description, priority: Int(instance.priority),
                            effectivePriority: Int(instance.effectivePriority),
                            counters: Dictionary(uniqueKeysWithValues: VRRPCounter.allCases.map { ($0.rawValue, instance.counters[$0]) }))
        }
        return DirectorObservation(snapshot: snapshot, workers: parts.all, health: health, vrrp: vrrp,
                                   takenAt: Self.monotonicNanoseconds())
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

/// Each worker's observation, written on the workers' threads, read after all did.
private final class WorkerObservations: @unchecked Sendable {
    // Safety (@unchecked): slot k is written only by worker k's task; `withEachDirector`
    // returns only after every task ran, which orders the writes before `all` is read.
    private var parts: [WorkerObservation?]
    init(count: Int) { parts = Array(repeating: nil, count: count) }
    func store(_ part: WorkerObservation, at index: Int) { parts[index] = part }
    var all: [WorkerObservation] { parts.compactMap { $0 } }
}
