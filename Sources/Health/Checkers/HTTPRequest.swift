import Wire

/// The GET request HTTP_GET and SSL_GET send, byte for byte as keepalived builds it
/// (check_http.c request_template, http_request):
///
///     GET /path HTTP/1.0\r\n
///     User-Agent: KeepAliveClient\r\n
///     [Connection: close\r\n]          (http_protocol 1.0C and 1.1)
///     Host: HOST\r\n\r\n
///
/// HOST is the url's `virtualhost`, else the checker's; without one it is the probed address
/// and port (`[addr]:port` for IPv6, RFC 2732), so name-based virtual hosts see what a browser
/// sending to that address would send.
public enum HTTPRequest {
    public static func bytes(path: String, virtualhost: String?, destination: Endpoint, version: HTTPProtocolVersion) -> [UInt8] {
        let minor = version == .http11 ? 1 : 0
        let connection = version == .http10 ? "" : "Connection: close\r\n"
        let host = virtualhost ?? (destination.address.isIPv4 ? "\(destination.address):\(destination.port)"
                                                                 : "[\(destination.address)]:\(destination.port)")
        return Array("GET \(path) HTTP/1.\(minor)\r\nUser-Agent: KeepAliveClient\r\n\(connection)Host: \(host)\r\n\r\n".utf8)
    }
}
