import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one lab the end-to-end suites build their networks in: network namespaces named
/// `lvst-<pid>-lab<tag>-<role>`, veth pairs with addresses in 198.18.0.0/15 and
/// 2001:db8::/32, routes, and every process started inside them remembered by PID.
///
/// `tearDown()` (call it in a `defer`, so it also runs when a test fails or throws) ends
/// those processes newest first — SIGTERM, a bounded wait, SIGKILL — then whatever else is
/// still inside the lab's namespaces (`ip netns pids`), deletes the namespaces (their veths
/// go with them) and removes the lab's directory. Nothing is ever created in the root
/// namespace. Offloads stay as the kernel sets them; the only sysctls changed are
/// per-namespace ones a suite chooses (`addNamespace`'s IPv6 setting, `sysctl`).
public final class NamespaceLab: @unchecked Sendable {
    /// `lvst-<pid>-lab<tag>-`: the tag keeps suites apart, the PID keeps test runs apart.
    public let prefix: String
    /// A fresh temporary directory for configuration files, logs and web roots.
    public let directory: URL

    // Safety (@unchecked): `namespaces` and `processes` are only touched under `lock`.
    private let lock = NSLock()
    private var namespaces: [String] = []
    private var processes: [Spawned] = []

    /// Names the lab; deletes namespaces with its prefix that an earlier lab of this test
    /// process left behind (the PID is part of the name, so other runs are never touched).
    public init(tag: String) throws {
        let pid = getpid()
        prefix = "lvst-\(pid)-lab\(tag)-"
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lvst-\(pid)-lab\(tag)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for ns in Self.existingNamespaces(prefix: prefix) { _ = try? Command.run(Self.ip, ["netns", "delete", ns]) }
    }

    /// Names the lab and runs `build` on it; when `build` throws, the lab is taken down
    /// before the error reaches the caller (whose `defer` is not set up yet).
    public convenience init(tag: String, build: (NamespaceLab) throws -> Void) throws {
        try self.init(tag: tag)
        do {
            try build(self)
        } catch {
            tearDown()
            throw error
        }
    }

    static let ip = "/usr/sbin/ip"

    /// The namespace name of `role` in this lab (whether or not it exists yet).
    public func namespace(_ role: String) -> String { prefix + role }

    /// A path inside the lab's directory.
    public func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    // MARK: Building

    /// IPv6 inside a lab namespace.
    public enum IPv6: Sendable {
        /// Disabled (the IPv4-only suites: no router solicitations or MLD reports on their links).
        case off
        /// The kernel's defaults (`addVeth` adds IPv6 addresses `nodad`, so they are usable at once).
        case on
        /// On, with duplicate address detection off for every interface created later: the
        /// link-local addresses are usable at once too.
        case withoutDAD
    }

    /// Creates the namespace of `role` with `lo` up and `ipv6` as asked; returns its name.
    @discardableResult
    public func addNamespace(_ role: String, ipv6: IPv6 = .off) throws -> String {
        let ns = namespace(role)
        try Command.ip(["netns", "add", ns])
        lock.withLock { namespaces.append(ns) }
        try Command.ip(["-n", ns, "link", "set", "lo", "up"])
        switch ipv6 {
        case .off: try sysctl(ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        case .on: break
        case .withoutDAD: try sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
        }
        return ns
    }

    /// One end of a veth pair: its namespace, interface name, addresses (CIDR), a fixed MAC
    /// (the kernel picks a random one otherwise), and the bridge in that namespace it joins.
    public struct End {
        public let namespace: String
        public let interface: String
        public let addresses: [String]
        public let mac: String?
        public let bridge: String?
        public init(_ namespace: String, _ interface: String, _ addresses: String..., mac: String? = nil, bridge: String? = nil) {
            self.namespace = namespace
            self.interface = interface
            self.addresses = addresses
            self.mac = mac
            self.bridge = bridge
        }
    }

    /// A veth pair between two namespaces, both ends up with the kernel's default offloads
    /// (TSO/GSO on, as on a user's host), with their addresses (IPv6 ones `nodad`).
    public func addVeth(_ a: End, _ b: End) throws {
        try Command.ip(["-n", a.namespace, "link", "add", a.interface] + (a.mac.map { ["address", $0] } ?? [])
                       + ["type", "veth", "peer", "name", b.interface] + (b.mac.map { ["address", $0] } ?? []) + ["netns", b.namespace])
        for end in [a, b] {
            for address in end.addresses {
                try Command.ip(["-n", end.namespace, "address", "add", address, "dev", end.interface]
                               + (address.contains(":") ? ["nodad"] : []))
            }
            if let bridge = end.bridge { try Command.ip(["-n", end.namespace, "link", "set", end.interface, "master", bridge]) }
        }
        for end in [a, b] { try Command.ip(["-n", end.namespace, "link", "set", end.interface, "up"]) }
    }

    /// One end of `buildPair`'s veth pair: interface name, MAC, address (CIDR) if any.
    public typealias PairEnd = (interface: String, mac: String, address: String?)

    /// Namespaces `a` and `b` joined by one veth pair with fixed MACs (and addresses, when
    /// given), IPv6 off: the lab of the suites that test the kernel's packet sockets.
    public func buildPair(_ a: PairEnd, _ b: PairEnd) throws {
        let (nsA, nsB) = (try addNamespace("a"), try addNamespace("b"))
        try addVeth(End(nsA, a.interface, mac: a.mac), End(nsB, b.interface, mac: b.mac))
        for (ns, end) in [(nsA, a), (nsB, b)] {
            if let address = end.address { try Command.ip(["-n", ns, "address", "add", address, "dev", end.interface]) }
        }
    }

    /// A bridge `name` inside `ns`, up; `options` go to `ip link add ... type bridge`.
    public func addBridge(_ name: String, in ns: String, options: [String] = []) throws {
        try Command.ip(["-n", ns, "link", "add", name, "type", "bridge"] + options)
        try Command.ip(["-n", ns, "link", "set", name, "up"])
    }

    /// `ip [-6] -n NS route add ARGUMENTS` (IPv6 when the first argument's address has a colon).
    public func addRoute(_ ns: String, _ arguments: String...) throws {
        let family = arguments.contains { $0.contains(":") } ? ["-6"] : []
        try Command.ip(family + ["-n", ns, "route", "add"] + arguments)
    }

    /// Per-namespace sysctls (`sysctl -qw` inside `ns`).
    public func sysctl(_ ns: String, _ settings: String...) throws {
        try runChecked(in: ns, ["/usr/sbin/sysctl", "-qw"] + settings)
    }

    // MARK: Running programs

    /// `argv` inside `ns`, to completion, both pipes drained.
    @discardableResult
    public func run(in ns: String, _ argv: [String], environment: [String: String] = [:])
        throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.run(Self.ip, ["netns", "exec", ns] + argv, environment: environment)
    }

    /// `argv` inside `ns`, which must succeed; its standard output.
    @discardableResult
    public func runChecked(in ns: String, _ argv: [String]) throws -> String {
        let run = try run(in: ns, argv)
        guard run.status == 0 else {
            throw Command.Failed(description: "'\(argv.joined(separator: " "))' in \(ns) exited \(run.status): \(run.stderr)")
        }
        return run.stdout
    }

    /// Where a started program's standard output and error go.
    public enum Output {
        case discard
        /// Appended to this file (created when missing).
        case file(URL)
        /// Kept in memory: `Spawned.output`.
        case capture
    }

    /// Starts `argv` in the background inside `ns` (`ip netns exec` execs the program, so
    /// the PID is the program's own) and remembers it for `stop` and `tearDown`.
    @discardableResult
    public func start(in ns: String, _ argv: [String], output: Output = .discard, directory cwd: URL? = nil,
                      environment: [String: String] = [:]) throws -> Spawned {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.ip)
        p.arguments = ["netns", "exec", ns] + argv
        if let cwd { p.currentDirectoryURL = cwd }
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        p.standardInput = FileHandle.nullDevice
        var buffer: Spawned.Buffer?
        var logFile: URL?
        switch output {
        case .discard:
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        case .file(let url):
            if !FileManager.default.fileExists(atPath: url.path) {
                _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: url)
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
            logFile = url
        case .capture:
            let pipe = Pipe()
            let captured = Spawned.Buffer()
            pipe.fileHandleForReading.readabilityHandler = { handle in captured.append(handle.availableData) }
            p.standardOutput = pipe
            p.standardError = pipe
            buffer = captured
        }
        try p.run()
        if case .file = output, let handle = p.standardOutput as? FileHandle { try? handle.close() }
        let spawned = Spawned(process: p, buffer: buffer, logFile: logFile)
        lock.withLock { processes.append(spawned) }
        return spawned
    }

    /// Sends `signal` to a process the lab started, waits up to `timeout` seconds for it to
    /// exit, then SIGKILLs it. Returns whether it exited by itself.
    @discardableResult
    public func stop(_ spawned: Spawned, signal: Int32 = SIGTERM, timeout: Double = 5) -> Bool {
        let pid = spawned.pid
        var exited = true
        if spawned.isRunning {
            kill(pid, signal)
            // A test may have stopped it (SIGSTOP): let it act on the signal.
            if signal != SIGKILL { kill(pid, SIGCONT) }
            let deadline = Date().addingTimeInterval(timeout)
            while spawned.isRunning && Date() < deadline { usleep(20_000) }
            if spawned.isRunning {
                exited = false
                kill(pid, SIGKILL)
                let killed = Date().addingTimeInterval(2)
                while spawned.isRunning && Date() < killed { usleep(20_000) }
            }
        }
        // No waitUntilExit: Foundation reports the exit only once every descendant that
        // inherited its status socket is gone, and a descendant left in a lab namespace is
        // tearDown's to end.
        lock.withLock { processes.removeAll { $0 === spawned } }
        return exited
    }

    /// Polls `condition` every `poll` seconds until it holds; throws naming `what` (and, when
    /// given, `context`, such as lvsd's log) after `seconds`.
    public func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 10, poll: Double = 0.05,
                          context: () -> String = { "" }, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(UInt32(poll * 1_000_000))
        }
        let more = context()
        throw Command.Failed(description: "timed out after \(seconds) s waiting until \(what())" + (more.isEmpty ? "" : "\n\(more)"))
    }

    /// Runs `body` on a new thread named `name` and returns its result: `setns` (entering a
    /// lab namespace) changes only the calling thread and must never touch the concurrency
    /// pool's threads; the namespace is left with the thread.
    public static func onNamespaceThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }

    // MARK: Taking it down

    /// Ends every process the lab started (newest first: SIGTERM, up to `grace` seconds,
    /// SIGKILL), then anything still inside its namespaces, deletes the namespaces and the
    /// lab's directory. Safe to call more than once.
    public func tearDown(grace: Double = 2) {
        for spawned in lock.withLock({ processes }).reversed() { stop(spawned, timeout: grace) }
        let owned = lock.withLock { namespaces }
        // A program's own children (chromium's helpers, nginx's worker) may outlive it.
        for ns in owned { for pid in Command.pids(in: ns) { kill(pid, SIGKILL) } }
        for ns in owned { _ = try? Command.run(Self.ip, ["netns", "delete", ns]) }
        lock.withLock { namespaces = [] }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Namespaces whose names start with `prefix` (`ip netns list`).
    static func existingNamespaces(prefix: String) -> [String] {
        let out = (try? Command.run(ip, ["netns", "list"]).stdout) ?? ""
        return out.split(separator: "\n").compactMap { line in
            let name = String(line.split(separator: " ").first ?? "")
            return name.hasPrefix(prefix) ? name : nil
        }
    }
}

/// A program the lab started in the background.
public final class Spawned: @unchecked Sendable {
    public let process: Process
    let buffer: Buffer?
    /// The file its output is appended to (`Output.file`).
    public let logFile: URL?

    init(process: Process, buffer: Buffer?, logFile: URL?) {
        self.process = process
        self.buffer = buffer
        self.logFile = logFile
    }

    public var pid: Int32 { process.processIdentifier }
    /// Running, by /proc (a zombie is not): Foundation's own flag stays true while a
    /// descendant holds its status socket, after the process itself has exited.
    public var isRunning: Bool { process.isRunning && Command.isRunning(pid) }

    /// What it printed so far: the captured text, or its log file's.
    public var output: String {
        if let buffer { return buffer.text }
        if let logFile { return (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
        return ""
    }

    /// Bytes from a pipe's readability handler, read from the test's thread.
    final class Buffer: @unchecked Sendable {
        // Safety (@unchecked): `data` is only touched under `lock`.
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.withLock { data.append(more) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }
}
