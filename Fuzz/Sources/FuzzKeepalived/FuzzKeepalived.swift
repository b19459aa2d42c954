import Control
import Core

// libFuzzer target: keepalived.conf text → KeepalivedConfig → the director lvsd would run
// (`Director` built from it) and the `lvsd check` listing. `include` lines would read the
// file system (glob(3) on any path), so the word is defused before parsing: includes are
// covered by ControlTests' fixtures, not here.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // "include" and its variants (includer, includem, ...) all start with these letters.
    if bytes.count >= 7 {
        for i in 0...(bytes.count - 7) where bytes[i] == 0x69 && bytes[i + 1] == 0x6E && bytes[i + 2] == 0x63
            && bytes[i + 3] == 0x6C && bytes[i + 4] == 0x75 && bytes[i + 5] == 0x64 && bytes[i + 6] == 0x65 {
            bytes[i + 6] = 0x58  // "includX"
        }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let config: KeepalivedConfig
    do {
        config = try KeepalivedFile.parse(text, file: "/nonexistent/swiftlvs-fuzz/keepalived.conf")
    } catch {
        _ = error.description
        return 0
    }
    _ = RulesWriter.save(config.director)
    _ = Director(config: config.director, capacity: 16)
    return 0
}
