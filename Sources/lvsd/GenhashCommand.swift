import ArgumentParser
import Health
import Wire

/// `lvsd genhash -s HOST -p PORT -u URL [-S] [-V VHOST]`: keepalived's genhash. Fetches a page
/// the way HTTP_GET / SSL_GET do and prints the MD5 of its body, for a url's `digest`.
struct GenhashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genhash",
        abstract: "Print the MD5 digest of a web page as HTTP_GET/SSL_GET compute it (keepalived's genhash).",
        discussion: """
            Sends keepalived's request (GET URL HTTP/1.0, User-Agent: KeepAliveClient, Host: the \
            virtualhost or SERVER:PORT), reads the response to the server's close and prints the \
            MD5 of the body (at most Content-Length bytes) as 32 hex digits: paste it into \
            url { digest ... }. Run it from where the checks run (the director's namespace).
            """
    )

    @Option(name: [.customShort("s"), .long], help: "The real server's IP address.")
    var server: String

    @Option(name: [.customShort("p"), .long], help: "The real server's port.")
    var port: UInt16

    @Option(name: [.customShort("u"), .long], help: "The url path, e.g. /index.html.")
    var url: String

    @Flag(name: [.customShort("S"), .customLong("use-ssl")], help: "Use TLS (SSL_GET).")
    var useSSL = false

    @Flag(name: [.customShort("I"), .customLong("use-sni")], help: "Send SNI (the virtualhost) in the TLS handshake.")
    var useSNI = false

    @Option(name: [.customShort("V"), .customLong("use-virtualhost")], help: "The Host header to send.")
    var virtualhost: String?

    @Option(name: [.customShort("P"), .customLong("protocol")], help: "HTTP protocol: 1.0, 1.0C (with Connection: close) or 1.1.")
    var httpProtocol = "1.0"

    @Option(name: [.customShort("t"), .long], help: "Seconds to wait for the connection and each read (default 5).")
    var timeout: Int = 5

    @Flag(name: [.customShort("v"), .long], help: "Also print the status code and body size to standard error.")
    var verbose = false

    func validate() throws {
        guard IPAddress(server) != nil else { throw ValidationError("--server must be an IPv4 or IPv6 address, got '\(server)'.") }
        guard port > 0 else { throw ValidationError("--port must be 1-65535.") }
        guard url.hasPrefix("/") else { throw ValidationError("--url must start with '/', got '\(url)'.") }
        guard HTTPProtocolVersion(rawValue: httpProtocol.uppercased()) != nil else {
            throw ValidationError("--protocol must be 1.0, 1.0C or 1.1, got '\(httpProtocol)'.")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds.") }
    }

    func run() throws {
        let request = Genhash.Request(server: IPAddress(server)!, port: port, path: url, useTLS: useSSL, useSNI: useSNI,
                                      virtualhost: virtualhost, httpProtocol: HTTPProtocolVersion(rawValue: httpProtocol.uppercased())!,
                                      timeout: .seconds(timeout))
        switch Genhash.run(request) {
        case .success(let result):
            if verbose { Console.error("HTTP status \(result.statusCode), \(result.bodyBytes) body bytes") }
            print(result.digest)
        case .failure(let error):
            Console.error("lvsd genhash: \(error)")
            throw ExitCode(1)
        }
    }
}
