import Core
import Wire

/// keepalived's genhash (keepalived --genhash, check_genhash.c): fetch one page the way
/// HTTP_GET / SSL_GET would and print the MD5 of its body, to paste into a url's `digest`.
/// The digest is the one the checker computes (same request, same body rules), so what genhash
/// prints is what the check will compare.
public enum Genhash {
    public struct Request: Sendable {
        public var server: IPAddress
        public var port: UInt16
        public var path: String
        /// `-S`: over TLS.
        public var useTLS: Bool
        /// `-I`: send SNI (the virtualhost).
        public var useSNI: Bool
        /// `-V`: the Host header.
        public var virtualhost: String?
        /// `-P`: 1.0, 1.0C, 1.1.
        public var httpProtocol: HTTPProtocolVersion
        /// `-t`: per-step timeout (keepalived's genhash waits forever without it; SwiftLVS
        /// defaults to connect_timeout's 5 s).
        public var timeout: Duration
        /// `bindto` for the request.
        public var source: IPAddress?

        public init(server: IPAddress, port: UInt16, path: String, useTLS: Bool = false, useSNI: Bool = false,
                    virtualhost: String? = nil, httpProtocol: HTTPProtocolVersion = .http10, timeout: Duration = .seconds(5),
                    source: IPAddress? = nil) {
            self.server = server
            self.port = port
            self.path = path
            self.useTLS = useTLS
            self.useSNI = useSNI
            self.virtualhost = virtualhost
            self.httpProtocol = httpProtocol
            self.timeout = timeout
            self.source = source
        }
    }

    public struct Result: Sendable {
        public var digest: MD5Digest
        public var statusCode: Int
        public var bodyBytes: Int
    }

    /// Fetches the page; a sentence when no response came back.
    public static func run(_ request: Request) -> Swift.Result<Result, HealthConfigError> {
        HealthSignals.blockBrokenPipeOnCurrentThread()
        let endpoint = Endpoint(request.server, request.port)
        let target = CheckTarget(service: ServiceKey(.tcp, request.server, request.port), realServer: endpoint,
                                 bindAddress: request.source)
        let http = HTTPGetConfig(urls: [HTTPURLCheck(path: request.path)], virtualhost: request.virtualhost,
                                 httpProtocol: request.httpProtocol)
        let kind: CheckerSpec
        var tls: HTTPProbe.TLSSetup?
        if request.useTLS {
            let options = TLSOptions(enableSNI: request.useSNI)
            guard let context = try? TLSContext(options) else { return .failure(HealthConfigError("cannot create an OpenSSL client context")) }
            tls = HTTPProbe.TLSSetup(context: context, options: options)
            kind = .sslGet(http, options)
        } else {
            kind = .httpGet(http)
        }
        let config = CheckerConfig(target: target, spec: kind,
                                   timing: CheckerTiming(connectTimeout: request.timeout))
        let probe = HTTPProbe(config: config, http: http, tls: tls, genhash: true)
        switch ProbeDriver.run(probe) {
        case .failure(let failure):
            return .failure(HealthConfigError("\(request.useTLS ? "https" : "http")://\(endpoint)\(request.path): \(failure.reason)"))
        case .success:
            guard let digest = probe.lastDigest else { return .failure(HealthConfigError("no digest computed (OpenSSL EVP MD5 unavailable)")) }
            return .success(Result(digest: digest, statusCode: probe.lastStatus, bodyBytes: probe.lastBodyBytes))
        }
    }
}
