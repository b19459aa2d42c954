/// Reads an HTTP response as keepalived's HTTP_GET does, incrementally: finds the end of the
/// header, takes the status code and Content-Length from it, and hashes the body with MD5
/// (keepalived lib/html.c extract_html, extract_status_code, extract_content_length;
/// check_http.c http_process_response).
///
/// The digest covers the body bytes after the blank line, at most Content-Length of them when
/// the header has one, all of them up to the server's close otherwise: the same bytes
/// `curl URL | md5sum` hashes, which is what genhash prints. Deliberate differences from
/// keepalived: the Content-Length header is matched without regard to case (RFC 9110 §5.1;
/// keepalived's strstr needs "Content-Length:" exactly), and only within the header (keepalived
/// searches its whole first 4 KiB buffer, so a body containing the string could mislead it).
public struct HTTPResponseReader {
    /// A header longer than this is refused (keepalived's buffer is 4 KiB; 64 KiB is generous).
    public static let maximumHeaderLength = 65_536
    /// The most body bytes a check reads. keepalived reads to the server's close whatever the
    /// size; a hostile or broken server streaming forever would then cost the health thread
    /// its time until the deadline. Health pages are small; 16 MiB is generous.
    public static let maximumBodyLength = 16 << 20

    public private(set) var headerComplete = false
    /// The status code, 0 when the status line is not `HTTP/x.y NNN reason` (keepalived returns 0 too).
    public private(set) var statusCode = 0
    /// Content-Length, when the header has a valid one.
    public private(set) var contentLength: Int?
    /// Body bytes received (all of them, beyond Content-Length too).
    public private(set) var bodyBytes = 0
    /// True when the header grew past `maximumHeaderLength` without ending.
    public private(set) var headerTooLong = false
    /// Why the header cannot be trusted (a Content-Length that is not a number a body can
    /// have): the check fails with this sentence. Real servers' answers are input: a malformed
    /// one is a failed check, never a trap.
    public private(set) var malformed: String?

    private var header: [UInt8] = []
    private let hasher: MD5Hasher?
    /// The first `keepBody` bytes of the body (within Content-Length), for `regex`.
    public private(set) var body: [UInt8] = []
    private let keepBody: Int

    /// `digest`: hash the body (only when the url has a `digest`, as keepalived does);
    /// `keepBody`: keep that many body bytes for a `regex`.
    public init(digest: Bool, keepBody: Int = 0) {
        hasher = digest ? MD5Hasher() : nil
        self.keepBody = keepBody
    }

    /// Feeds the next bytes of the response.
    public mutating func consume(_ bytes: ArraySlice<UInt8>) {
        guard !headerTooLong else { return }
        if headerComplete {
            absorbBody(bytes)
            return
        }
        let searchFrom = max(0, header.count - 3)
        header.append(contentsOf: bytes)
        var end: Int?
        if header.count >= 4 {
            var i = searchFrom
            while i + 3 < header.count {
                if header[i] == 13 && header[i + 1] == 10 && header[i + 2] == 13 && header[i + 3] == 10 { end = i + 4; break }
                i += 1
            }
        }
        guard let end else {
            if header.count > HTTPResponseReader.maximumHeaderLength { headerTooLong = true }
            return
        }
        headerComplete = true
        let rest = header[end...]
        header.removeSubrange(end...)
        statusCode = HTTPResponseReader.statusCode(in: header)
        switch HTTPResponseReader.parseContentLength(in: header) {
        case .absent: contentLength = nil
        case .value(let n): contentLength = n
        case .invalid(let why): malformed = why
        }
        absorbBody(rest)
    }

    private mutating func absorbBody(_ bytes: ArraySlice<UInt8>) {
        let wanted = contentLength.map { max(0, $0 - bodyBytes) } ?? bytes.count
        hasher?.update(bytes.prefix(wanted))
        if body.count < keepBody { body += bytes.prefix(min(wanted, keepBody - body.count)) }
        // Saturating: the byte count is the server's doing, and the cap stops reading long before.
        let (sum, overflow) = bodyBytes.addingReportingOverflow(bytes.count)
        bodyBytes = overflow ? .max : sum
    }

    /// The body is all there: Content-Length bytes arrived (nothing after them is needed, so
    /// the check need not wait for the server's close).
    public var bodyComplete: Bool {
        guard headerComplete, let contentLength else { return false }
        return bodyBytes >= contentLength
    }

    /// More body than a check reads (`maximumBodyLength`).
    public var bodyTooLong: Bool { bodyBytes > HTTPResponseReader.maximumBodyLength }

    /// The body digest once the response has ended (call once); nil without `digest`.
    public func finishDigest() -> MD5Digest? { hasher?.finish() }

    /// html.c extract_status_code: the token after the first space must be exactly three
    /// digits followed by a space.
    static func statusCode(in header: [UInt8]) -> Int {
        var i = 0
        while i < header.count && header[i] != 32 && header[i] != 13 { i += 1 }
        guard i < header.count, header[i] == 32 else { return 0 }
        i += 1
        guard i + 3 < header.count, header[i] != 32, header[i + 3] == 32 else { return 0 }
        var code = 0
        for k in 0..<3 {
            let c = header[i + k]
            guard c >= 48 && c <= 57 else { return 0 }
            code = code * 10 + Int(c - 48)
        }
        return code
    }

    enum ContentLength: Equatable {
        case absent
        case value(Int)
        case invalid(String)
    }

    /// html.c extract_content_length: digits after `Content-Length:` (leading blanks skipped),
    /// followed by the end of the line; anything else means "unknown".
    static func contentLength(in header: [UInt8]) -> Int? {
        if case .value(let n) = parseContentLength(in: header) { return n }
        return nil
    }

    /// As `contentLength(in:)`, telling a value too large for any body (it would overflow the
    /// arithmetic; keepalived's strtoul saturates) apart from an absent or unreadable one.
    static func parseContentLength(in header: [UInt8]) -> ContentLength {
        let name = Array("content-length:".utf8)
        var i = 0
        outer: while i + name.count <= header.count {
            // Only at the start of a header line.
            if i == 0 || header[i - 1] != 10 { i += 1; continue }
            for k in 0..<name.count {
                var c = header[i + k]
                if c >= 65 && c <= 90 { c += 32 }
                if c != name[k] { i += 1; continue outer }
            }
            var j = i + name.count
            while j < header.count && (header[j] == 32 || header[j] == 9) { j += 1 }
            let first = j
            var value = 0, digits = 0, overflow = false
            while j < header.count, header[j] >= 48, header[j] <= 57 {
                // Both steps checked: `* 10` alone let `+ digit` trap on 9223372036854775808.
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(header[j] - 48))
                overflow = overflow || o1 || o2
                value = overflow ? 0 : sum
                digits += 1
                j += 1
            }
            guard digits > 0, j == header.count || header[j] == 13 || header[j] == 10 else { return .absent }
            if overflow {
                let written = String(decoding: header[first..<min(j, first + 40)], as: UTF8.self)
                return .invalid("Content-Length \(written)\(j - first > 40 ? "..." : "") is too large for any body")
            }
            return .value(value)
        }
        return .absent
    }
}
