import Synchronization

/// The monitor's charts' memory: each service's rates at the last `capacity` observations
/// (one per second at most while someone watches or scrapes), so a page opened now starts
/// with the recent past instead of an empty chart.
final class MonitorHistory: Sendable {
    struct Series: Codable, Sendable, Hashable {
        var connections: [UInt64] = []
        var packetsIn: [UInt64] = []
        var packetsOut: [UInt64] = []
    }

    let capacity: Int
    private let state = Mutex<(last: UInt64, series: [String: Series])>((0, [:]))

    init(capacity: Int = 120) { self.capacity = capacity }

    /// Adds `state`'s rates once per observation (the same observation twice counts once).
    func record(_ monitor: MonitorState, takenAt: UInt64) {
        state.withLock { s in
            guard takenAt != s.last else { return }
            s.last = takenAt
            var next: [String: Series] = [:]
            for service in monitor.services {
                var series = s.series[service.name] ?? Series()
                series.connections.append(service.rates.connections)
                series.packetsIn.append(service.rates.packetsIn)
                series.packetsOut.append(service.rates.packetsOut)
                if series.connections.count > capacity {
                    series.connections.removeFirst()
                    series.packetsIn.removeFirst()
                    series.packetsOut.removeFirst()
                }
                next[service.name] = series
            }
            // Services removed from the configuration leave the charts with it.
            s.series = next
        }
    }

    var series: [String: Series] { state.withLock { $0.series } }
}
