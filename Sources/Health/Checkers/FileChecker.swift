#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// FILE_CHECK: a real server's health and weight follow a number in a file (keepalived ≥ 2.2
/// `track_file` + `FILE_CHECK`, trackers/track_file.c process_track_file and
/// update_track_file_status, check_file.c).
///
/// The file's first 127 bytes are read as one integer the way strtol with base 0 reads it
/// (decimal, `0x` hex, leading-0 octal; what is not a number reads as 0; a missing or empty
/// file is 0). With `weight 0` a non-zero value is a failure (with `reverse`, zero is); with a
/// non-zero weight the value × weight (negated with `reverse`) is added to the real server's
/// weight, and only a product at or below keepalived's IPVS_WEIGHT_FAULT (Int32.min) fails. A
/// value outside Int32 is ignored, as keepalived does: the previous verdict stands (here: the
/// check fails with a sentence until the file holds a number again).
///
/// Deliberate difference: keepalived watches the file with inotify; lvsd reads it on every
/// check, once per `delay_loop` (the keepalived mapping sets 1 s).
public final class FileChecker: Checker {
    public let config: CheckerConfig
    let file: FileCheckConfig

    public init(config: CheckerConfig, file: FileCheckConfig) {
        self.config = config
        self.file = file
        file.initialize()
    }

    public func makeProbe() -> any Probe { FileProbe(outcome: file.outcome(reading: file.read())) }
}

final class FileProbe: Probe {
    let outcome: CheckOutcome
    init(outcome: CheckOutcome) { self.outcome = outcome }
    func start(now: Duration) -> ProbeStep { .done(outcome) }
    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep { .done(outcome) }
    func cancel() {}
}

extension FileCheckConfig {
    /// The number in the file, nil when it is outside Int32 (keepalived ignores it).
    func read() -> Int64? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 127)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        return Self.parse(buffer[0..<n])
    }

    /// strtol(buf, NULL, 0) within Int32 (keepalived accepts up to INT32_MAX + 1).
    public static func parse(_ bytes: ArraySlice<UInt8>) -> Int64? {
        var i = bytes.startIndex
        while i < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains(bytes[i]) { i += 1 }
        var negative = false
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var radix: Int64 = 10
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "0") {
            if i + 1 < bytes.endIndex, bytes[i + 1] | 0x20 == UInt8(ascii: "x"), i + 2 < bytes.endIndex, Self.digit(bytes[i + 2], radix: 16) != nil {
                radix = 16
                i += 2
            } else {
                radix = 8
            }
        }
        var value: Int64 = 0
        while i < bytes.endIndex, let d = Self.digit(bytes[i], radix: radix) {
            value = value * radix + d
            // Past the range keepalived accepts: stop before the arithmetic could overflow.
            if value > Int64(Int32.max) + 1 { return nil }
            i += 1
        }
        let signed = negative ? -value : value
        return signed < Int64(Int32.min) || signed > Int64(Int32.max) + 1 ? nil : signed
    }

    private static func digit(_ byte: UInt8, radix: Int64) -> Int64? {
        let d: Int64
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int64(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int64(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
        return d < radix ? d : nil
    }

    /// update_track_file_status for one value.
    public func outcome(reading value: Int64?) -> CheckOutcome {
        guard let value else { return .failure(CheckFailure("\(path) does not hold a number within -2147483648...2147483648")) }
        if weight == 0 {
            let fault = (value != 0) != reverse
            return fault ? .failure(CheckFailure("\(path) holds \(value)\(reverse ? " (reverse: 0 is up)" : "")")) : .success()
        }
        let product = value * Int64(weight) * (reverse ? -1 : 1)
        if product <= Int64(Int32.min) { return .failure(CheckFailure("\(path) holds \(value): weight \(product) is a fault")) }
        return .success(weight: realServerWeight + min(product, Int64(Int32.max)))
    }

    /// `init_file [VALUE] [overwrite]`: writes VALUE when the file is missing, or always with
    /// `overwrite` (keepalived does so when it reads the configuration).
    func initialize() {
        guard let initialValue else { return }
        if !overwrite && access(path, F_OK) == 0 { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let text = Array("\(initialValue)\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
