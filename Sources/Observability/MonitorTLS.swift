import HummingbirdTLS
import NIOSSL

/// TLS for the monitor and /metrics (`--metrics-tls-cert FILE --metrics-tls-key FILE`, or
/// `lvsd_director`'s `metrics_tls_cert` and `metrics_tls_key`): a PEM certificate chain
/// (the server's certificate first, then its intermediates) and its PEM private key, served
/// with swift-nio-ssl's defaults (TLS 1.2 and 1.3, its cipher list) on the same listener,
/// which then speaks HTTPS only.
public struct MonitorTLS: Sendable, Hashable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Reads both files now, so a bad file stops `lvsd run` at start with its name rather
    /// than failing every handshake later.
    public func configuration() throws(MonitorConfigError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw MonitorConfigError("\(certificateFile): error: cannot read a PEM certificate chain (\(error)); give --metrics-tls-cert a PEM file, the server's certificate first")
        }
        guard !chain.isEmpty else {
            throw MonitorConfigError("\(certificateFile): error: no certificate in the file; give --metrics-tls-cert a PEM file, the server's certificate first")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw MonitorConfigError("\(keyFile): error: cannot read a PEM private key (\(error)); give --metrics-tls-key the certificate's unencrypted key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
