import Health

// libFuzzer target: a real server's answer to HTTP_GET / SSL_GET through HTTPResponseReader,
// as the checker reads it from the socket: in chunks. Byte 0: bit 0 digest on, bits 1-7 the
// chunk size − 1 (1...128 bytes); the rest is the response.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let chunk = Int(data[0] >> 1) + 1
    var reader = HTTPResponseReader(digest: data[0] & 1 != 0)
    var at = 0
    while at < bytes.count {
        let end = min(at + chunk, bytes.count)
        reader.consume(bytes[at..<end])
        at = end
    }
    _ = reader.finishDigest()
    precondition(reader.statusCode >= 0 && reader.statusCode <= 999, "status code \(reader.statusCode)")
    precondition(reader.contentLength.map { $0 >= 0 } ?? true, "negative Content-Length \(reader.contentLength!)")
    precondition(reader.bodyBytes <= bytes.count, "\(reader.bodyBytes) body bytes of a \(bytes.count)-byte response")
    return 0
}
