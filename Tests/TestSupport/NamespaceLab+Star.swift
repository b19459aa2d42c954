import Foundation

extension NamespaceLab {
    /// The director in the middle, the client on one side and each real server on a link of
    /// its own, all joined by direct veth pairs (IPv4 only):
    ///
    ///     client c0 198.18.0.2/24 ─ d0 198.18.0.1 [director] dN 198.18.N.1/24 ─ e0 198.18.N.2 [real server N]
    ///
    /// Each real server's default route is the director (NAT's return path); a VIP such as
    /// 198.18.0.100 lies on the client's subnet, so lvsd answers ARP for it on d0.
    public struct Star: Sendable {
        public let client: String
        public let director: String
        public let realServers: [String]
        /// lvsd's forwarding interfaces: d0 for the client, dN for real server N.
        public var interfaces: [String] { (0...realServers.count).map { "d\($0)" } }
        /// `--interface d0 --interface d1 ...`.
        public var interfaceArguments: [String] { interfaces.flatMap { ["--interface", $0] } }
        /// The rules file's `interface` lines for every director interface (the kernel's MAC).
        public var interfaceLines: String {
            interfaces.enumerated().map { "interface \($1) mac 00:00:00:00:00:00 address 198.18.\($0).1\n" }.joined()
        }
        /// Real server `n`'s address (1-based, as in the picture).
        public func realServerAddress(_ n: Int) -> String { "198.18.\(n).2" }
        public var realServerAddresses: [String] { realServers.indices.map { realServerAddress($0 + 1) } }
    }

    /// Builds the `Star` with `realServers` real servers; namespace roles `c`, `d`, `r1`...
    public func buildStar(realServers count: Int) throws -> Star {
        let star = Star(client: try addNamespace("c"), director: try addNamespace("d"),
                        realServers: try (1...count).map { try addNamespace("r\($0)") })
        try addVeth(End(star.director, "d0", "198.18.0.1/24"), End(star.client, "c0", "198.18.0.2/24"))
        for (i, rs) in star.realServers.enumerated() {
            try addVeth(End(star.director, "d\(i + 1)", "198.18.\(i + 1).1/24"), End(rs, "e0", "198.18.\(i + 1).2/24"))
            try addRoute(rs, "default", "via", "198.18.\(i + 1).1")
        }
        return star
    }

    /// Python's HTTP server on 8080 in each of the star's real servers (bound to all
    /// addresses: binding one hangs in getfqdn without DNS), its root `www<N>` serving `who`
    /// = "real-server-N" and hard links to `files`; ready once the director's own stack
    /// fetches `who` from each.
    @discardableResult
    public func startHTTPServers(_ star: Star, files: [URL] = []) throws -> [Spawned] {
        var servers: [Spawned] = []
        for (i, rs) in star.realServers.enumerated() {
            let root = file("www\(i + 1)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try "real-server-\(i + 1)\n".write(to: root.appendingPathComponent("who"), atomically: true, encoding: .utf8)
            for f in files { try FileManager.default.linkItem(at: f, to: root.appendingPathComponent(f.lastPathComponent)) }
            servers.append(try start(in: rs, ["/usr/bin/python3", "-m", "http.server", "8080"], directory: root))
        }
        for n in 1...star.realServers.count {
            try waitUntil("real server \(n) serves HTTP") {
                (try? run(in: star.director, ["/usr/bin/curl", "-s", "-m", "1", "http://\(star.realServerAddress(n)):8080/who"]).status) == 0
            }
        }
        return servers
    }

    /// nginx in each of the star's real servers on `ports`, answering "real-server-N PORT";
    /// ready once the director's own stack gets an answer on every port of every server.
    public func startNginx(_ star: Star, ports: [Int]) throws {
        for (i, rs) in star.realServers.enumerated() {
            let listens = ports.map { "listen \($0);" }.joined(separator: " ")
            try startNginx(in: rs, name: "nginx\(i + 1)",
                           server: #"\#(listens) location / { return 200 "real-server-\#(i + 1) $server_port\n"; }"#)
        }
        for n in 1...star.realServers.count {
            for port in ports {
                try waitUntil("nginx \(n) listens on \(port)") {
                    (try? run(in: star.director, ["/usr/bin/curl", "-s", "-m", "1", "http://\(star.realServerAddress(n)):\(port)/"]).status) == 0
                }
            }
        }
    }

    /// nginx in the foreground inside `ns`, one worker, its files under the lab's `name`
    /// folder, with one `server { SERVER }` block; does not wait for it to listen.
    @discardableResult
    public func startNginx(in ns: String, name: String, server: String) throws -> Spawned {
        let prefix = file(name)
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        let p = prefix.path
        let conf = prefix.appendingPathComponent("nginx.conf")
        try """
            worker_processes 1;
            pid \(p)/nginx.pid;
            error_log \(p)/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(p)/body; proxy_temp_path \(p)/proxy;
                fastcgi_temp_path \(p)/fastcgi; uwsgi_temp_path \(p)/uwsgi; scgi_temp_path \(p)/scgi;
                server { \(server) }
            }
            """.write(to: conf, atomically: true, encoding: .utf8)
        return try start(in: ns, ["/usr/sbin/nginx", "-p", p, "-c", conf.path, "-g", "daemon off;"])
    }
}
