/// A classic hex dump: offset, 16 bytes in two groups of 8, and printable ASCII.
///
/// ```
/// 0000  45 00 00 3c 1c 46 40 00  40 06 1c 54 cb 00 71 05  E..<.F@.@..T..q.
/// ```
public func hexDump(_ bytes: [UInt8]) -> String {
    var lines: [String] = []
    for start in stride(from: 0, to: bytes.count, by: 16) {
        let row = bytes[start..<min(start + 16, bytes.count)]
        var hex = ""
        for (i, byte) in row.enumerated() {
            if i == 8 { hex += " " }
            hex += hex2(byte) + " "
        }
        let ascii = String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
        lines.append(offset4(start) + "  " + hex.padding(toLength: 16 * 3 + 1) + " " + ascii)
    }
    return lines.joined(separator: "\n")
}

/// A readable hex dump of two byte arrays side by side marking differing bytes, for test failure messages.
///
/// Each line shows 8 bytes of `expected` and the same 8 of `actual`; a byte of `actual` that
/// differs is followed by `*`, a missing byte shows as `--`, and lines with a difference start
/// with `!`. The first line summarises lengths, the number of differing bytes and the first offset.
///
/// ```
/// 74 bytes expected, 74 actual; 1 differ, first at 0x0018
///         expected                   actual
///   0018  1c 54 cb 00 71 05 c6 12    1c 55*cb 00 71 05 c6 12
/// ```
public func hexDiff(expected: [UInt8], actual: [UInt8]) -> String {
    let count = max(expected.count, actual.count)
    var differing = 0
    var first: Int?
    var lines: [String] = []
    for start in stride(from: 0, to: count, by: 8) {
        var left = "", right = "", lineDiffers = false
        for i in start..<min(start + 8, count) {
            let e = i < expected.count ? expected[i] : nil
            let a = i < actual.count ? actual[i] : nil
            let differs = e != a
            if differs {
                differing += 1
                lineDiffers = true
                if first == nil { first = i }
            }
            left += (e.map(hex2) ?? "--") + " "
            right += (a.map(hex2) ?? "--") + (differs ? "*" : " ")
        }
        let line = (lineDiffers ? "! " : "  ") + offset4(start) + "  " + left.padding(toLength: 8 * 3) + "   " + right
        lines.append(line.trimmingTrailingSpaces())
    }
    var summary = "\(expected.count) bytes expected, \(actual.count) actual; "
    if let first {
        summary += "\(differing) differ, first at 0x\(offset4(first))"
    } else {
        summary += "identical"
    }
    return ([summary, "        expected                   actual"] + lines).joined(separator: "\n")
}

private func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

private func offset4(_ value: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - text.count)) + text
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }

    // Trailing blanks vanish in editors and test literals; never emit them.
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
