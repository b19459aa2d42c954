import Core
import Logging
@testable import Engine
import Testing

/// The counter summary lvsd logs with --stats-interval and at exit: the text scripts read is
/// unchanged, and each drop reason's line carries `reason` and `count` fields for the log's
/// `fields` and `journal` formats.
@Suite struct SummaryLineTests {
    @Test func dropLinesCarryTheReasonAndCount() {
        let rig = WorkerRig(EngineLab.config(pinned: false))
        rig.turn()
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(rig.workers[0].director.count(.neighbourUnresolved) == 1)

        let lines = LiveDirector.summary(label: "totals", workers: rig.workers)
        #expect(lines.first?.text.hasPrefix("lvsd: totals: frames in 1, forwarded 0, answered 0, passed 0, dropped 1, connections ") == true,
                "\(lines.map(\.text))")
        let drop = lines.first { $0.text.hasPrefix("lvsd:   dropped ") }
        #expect(drop?.text == "lvsd:   dropped \(DropReason.neighbourUnresolved): 1")
        #expect(drop.flatMap { $0.metadata["reason"] }.map { "\($0)" } == "\(DropReason.neighbourUnresolved)")
        #expect(drop.flatMap { $0.metadata["count"] }.map { "\($0)" } == "1")
        #expect(drop?.description == drop?.text, "interpolated, a line is its text")
    }
}
