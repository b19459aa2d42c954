import COpenSSL
#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// An OpenSSL client context for SSL_GET (keepalived check_ssl.c build_ssl_ctx): any TLS
/// version the library allows, verify depth 1 as keepalived sets it; the client certificate
/// and key when given; the server's certificate verified only when a CA file is given
/// (`TLSOptions` says why that differs from keepalived).
final class TLSContext {
    let context: OpaquePointer

    /// Throws a sentence naming the file OpenSSL refused.
    init(_ options: TLSOptions = TLSOptions()) throws(CheckFailure) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw CheckFailure("cannot create an OpenSSL client context") }
        context = ctx
        if let file = options.certificateFile, SSL_CTX_use_certificate_chain_file(ctx, file) != 1 {
            throw CheckFailure("cannot load the SSL certificate \(file): \(TLSContext.lastError())")
        }
        if let file = options.keyFile {
            guard SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) == 1 else {
                throw CheckFailure("cannot load the SSL key \(file): \(TLSContext.lastError())")
            }
            if options.certificateFile != nil, SSL_CTX_check_private_key(ctx) != 1 {
                throw CheckFailure("the SSL key \(file) does not belong to the certificate: \(TLSContext.lastError())")
            }
        }
        if let file = options.caFile {
            guard SSL_CTX_load_verify_locations(ctx, file, nil) == 1 else {
                throw CheckFailure("cannot load the SSL CA file \(file): \(TLSContext.lastError())")
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        SSL_CTX_set_verify_depth(ctx, 1)
    }

    deinit { SSL_CTX_free(context) }

    /// OpenSSL's last queued error as text, the queue cleared.
    static func lastError() -> String {
        let err = ERR_get_error()
        ERR_clear_error()
        guard err != 0 else { return "no OpenSSL error queued" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(err, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One TLS connection over a non-blocking socket the caller owns.
final class TLSSession {
    enum Result: Equatable {
        case done(Int)
        case wantRead
        case wantWrite
        /// The peer closed (close_notify, or EOF without it, which keepalived accepts too).
        case closed
        case failed(String)
    }

    private let ssl: OpaquePointer

    init?(context: TLSContext, fd: Int32, serverName: String?) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        guard SSL_set_fd(ssl, fd) == 1 else { return nil }
        lvs_ssl_set_nonblocking_write_modes(ssl)
        // keepalived sets quiet shutdown unless tls_compliant: no close_notify exchange.
        SSL_set_quiet_shutdown(ssl, 1)
        if let serverName { _ = serverName.withCString { lvs_ssl_set_sni(ssl, $0) } }
    }

    deinit { SSL_free(ssl) }

    func handshake() -> Result { classify(SSL_connect(ssl), okValue: 0) }

    func write(_ bytes: ArraySlice<UInt8>) -> Result {
        let r = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        return classify(r, okValue: Int(r))
    }

    func read(into buffer: inout [UInt8]) -> Result {
        let r = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        return classify(r, okValue: Int(r))
    }

    private func classify(_ r: Int32, okValue: Int) -> Result {
        if r > 0 { return .done(okValue) }
        let code = SSL_get_error(ssl, r)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let e = errno
            ERR_clear_error()
            if r == 0 || e == 0 { return .closed }
            return .failed(SystemCall.describe(e))
        default:
            let err = ERR_get_error()
            ERR_clear_error()
            if err == 0 { return .failed("TLS error \(code)") }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(err, &buffer, buffer.count)
            let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return .failed(String(decoding: text, as: UTF8.self))
        }
    }
}
