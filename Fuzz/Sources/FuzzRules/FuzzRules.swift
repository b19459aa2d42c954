import Control
import Core

// libFuzzer target: a rules file (ipvsadm -S lines, SwiftLVS's interface/neighbour lines,
// DPVS's --add-laddr) → DirectorConfig → a director built from it. What RulesWriter saves
// must read back to a configuration that saves to the same text (RulesWriter's contract:
// parse(save(c)) == c for what ipvsadm can express).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let config: DirectorConfig
    do {
        config = try RulesFile.parse(text, file: "fuzz.rules")
    } catch {
        _ = error.description
        return 0
    }
    _ = Director(config: config, capacity: 16)
    let saved = RulesWriter.save(config)
    let again: DirectorConfig
    do {
        again = try RulesFile.parse(saved, file: "saved.rules")
    } catch {
        preconditionFailure("RulesWriter.save printed what RulesFile cannot read: \(error)\n--- saved:\n\(saved)")
    }
    let savedAgain = RulesWriter.save(again)
    precondition(savedAgain == saved, "save(parse(save(c))) differs from save(c):\n\(saved)--- then:\n\(savedAgain)")
    return 0
}
