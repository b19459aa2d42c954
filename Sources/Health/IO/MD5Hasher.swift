import COpenSSL

/// Incremental MD5 through OpenSSL's EVP interface, as keepalived computes the HTTP_GET digest
/// (check_http.c: EVP_DigestInit_ex(EVP_md5()), EVP_DigestUpdate per read, EVP_DigestFinal_ex).
final class MD5Hasher {
    private let context: OpaquePointer?

    init() {
        context = EVP_MD_CTX_new()
        if let context { EVP_DigestInit_ex(context, EVP_md5(), nil) }
    }

    func update(_ bytes: ArraySlice<UInt8>) {
        guard let context, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
    }

    /// The digest; nil only if OpenSSL could not allocate its context.
    func finish() -> MD5Digest? {
        guard let context else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1, length == 16 else { return nil }
        return MD5Digest(bytes: Array(out[0..<16]))
    }

    deinit { EVP_MD_CTX_free(context) }

    /// MD5 of `bytes` in one call.
    static func digest(_ bytes: [UInt8]) -> MD5Digest? {
        let hasher = MD5Hasher()
        hasher.update(bytes[...])
        return hasher.finish()
    }
}

extension MD5Digest {
    /// MD5 of `bytes`, computed by OpenSSL (for tests and tools; checks hash incrementally).
    public static func of(_ bytes: [UInt8]) -> MD5Digest? { MD5Hasher.digest(bytes) }
}
