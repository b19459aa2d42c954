import Control
import Core
import Foundation
import Health
import KeepalivedHealth
import Testing
import Wire

/// FILE_CHECK (keepalived ≥ 2.2 track_file): the number in a real file sets the server's
/// health and weight as keepalived's update_track_file_status does.
@Suite struct FileCheckTests {
    @Test func numbersReadAsStrtolBaseZero() {
        func parse(_ text: String) -> Int64? { FileCheckConfig.parse(Array(text.utf8)[...]) }
        #expect(parse("5\n") == 5 && parse("  -3") == -3 && parse("+7") == 7)
        #expect(parse("0x1F") == 31 && parse("010") == 8 && parse("0") == 0)
        #expect(parse("") == 0 && parse("abc") == 0 && parse("12abc") == 12, "what is not a number reads as 0")
        #expect(parse("2147483648") == 2_147_483_648, "keepalived accepts INT32_MAX + 1")
        #expect(parse("2147483649") == nil && parse("-2147483649") == nil && parse(String(repeating: "9", count: 100)) == nil)
    }

    @Test func valuesToOutcomes() {
        let zero = FileCheckConfig(path: "/f", weight: 0, realServerWeight: 3)
        #expect(zero.outcome(reading: 0) == .success())
        #expect(zero.outcome(reading: 1) == .failure(CheckFailure("/f holds 1")))
        var reverse = zero
        reverse.reverse = true
        #expect(reverse.outcome(reading: 0) != .success() && reverse.outcome(reading: 4) == .success())
        let weighted = FileCheckConfig(path: "/f", weight: 10, realServerWeight: 3)
        #expect(weighted.outcome(reading: 2) == .success(weight: 23))
        #expect(weighted.outcome(reading: -1) == .success(weight: -7), "below 0 the table gets weight 0, the server stays alive")
        #expect(weighted.outcome(reading: -214_748_365) == .failure(CheckFailure("/f holds -214748365: weight -2147483650 is a fault")))
        #expect(weighted.outcome(reading: nil) == .failure(CheckFailure("/f does not hold a number within -2147483648...2147483648")))
    }

    @Test func aKeepalivedConfFollowsARealFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-hcfile-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rs1.weight").path
        let text = """
            track_file rs1_weight {
                file \(path)
                weight 2
                init_file 0
            }
            virtual_server 198.18.0.10 80 {
                lb_kind NAT
                real_server 198.18.1.1 80 {
                    weight 5
                    FILE_CHECK {
                        track_file rs1_weight
                    }
                }
                real_server 198.18.1.2 80 {
                    weight 1
                    FILE_CHECK {
                        track_file rs1_weight
                        weight 0 reverse
                    }
                }
            }
            """
        let config = try KeepalivedFile.parse(text, file: "keepalived.conf")
        let result = try KeepalivedHealthPlan.make(from: config)
        let c1 = result.plan.services[0].realServers[0].checkers[0], c2 = result.plan.services[0].realServers[1].checkers[0]
        #expect(c1.spec == .file(FileCheckConfig(path: path, weight: 2, initialValue: 0, realServerWeight: 5)))
        #expect(c2.spec == .file(FileCheckConfig(path: path, weight: 0, reverse: true, initialValue: 0, realServerWeight: 1)))
        #expect(c1.timing.delayLoop == .seconds(1) && c1.timing.retry == 0)

        let checker1 = c1.makeChecker(), checker2 = c2.makeChecker()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n", "init_file created the file")
        var model = HealthModel(plan: result.plan, seed: 1)
        _ = model.start()
        func run(_ at: Duration) -> [Endpoint: Int32] {
            _ = model.record(ProbeDriver.run(checker1.makeProbe()), for: CheckerID(0), at: at)
            _ = model.record(ProbeDriver.run(checker2.makeProbe()), for: CheckerID(1), at: at)
            return weights(model.desiredConfig(from: config.director))
        }
        let e1 = ep("198.18.1.1", 80), e2 = ep("198.18.1.2", 80)
        // 0: rs1 at its weight; rs2 (weight 0 reverse: zero is a fault) out.
        #expect(run(.seconds(1)) == [e1: 5])
        try "3\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(run(.seconds(2)) == [e1: 11, e2: 1], "5 + 3 × 2; a non-zero value brings rs2 in")
        try "-4\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(run(.seconds(3)) == [e1: 0, e2: 1], "5 − 8 is below 0: weight 0, still alive")
        try FileManager.default.removeItem(atPath: path)
        #expect(run(.seconds(4)) == [e1: 5], "a missing file reads as 0")
    }

    @Test func fileCheckErrorsNameTheirPlace() throws {
        let text = "virtual_server 198.18.0.10 80 {\n    real_server 198.18.1.1 80 {\n        FILE_CHECK {\n            track_file nope\n        }\n    }\n}\n"
        let config = try KeepalivedFile.parse(text, file: "k.conf")
        #expect(throws: HealthConfigError.self) { _ = try KeepalivedHealthPlan.make(from: config) }
        do {
            _ = try KeepalivedHealthPlan.make(from: config)
        } catch {
            #expect("\(error)".hasPrefix("k.conf:3:9: FILE_CHECK of real server 198.18.1.1:80"), "\(error)")
            #expect("\(error)".contains("no top-level 'track_file nope { file PATH }' block"), "\(error)")
        }
    }
}
