import Control
import Dispatch
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// lvsd's HTTP listener (`--metrics-listen`): `/metrics` for Prometheus, `/` the web monitor,
/// `/events` its server-sent events, `/api/state` the same JSON once. Read-only.
///
/// Runs Hummingbird on its own one-thread NIO event loop, never a worker's: a request asks
/// `ObservationCache` for the state, which reads the workers between their batches at most
/// twice a second however many clients there are.
public final class MonitorServer: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var access: MonitorAccess
        /// HTTPS with this certificate and key; nil: plain HTTP.
        public var tls: MonitorTLS?
        /// How often the page gets a new state.
        public var eventInterval: Duration = .seconds(1)

        public init(host: String, port: Int, access: MonitorAccess, tls: MonitorTLS? = nil) {
            self.host = host
            self.port = port
            self.access = access
            self.tls = tls
        }
    }

    private let settings: Settings
    private let cache: ObservationCache
    private let build: BuildInfo
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let sampler = Mutex<Task<Void, Never>?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let accepted = AcceptedCredentials()
    private let history = MonitorHistory()

    public init(settings: Settings, build: BuildInfo, logger: Logger, cache: ObservationCache) {
        self.settings = settings
        self.build = build
        self.logger = logger
        self.cache = cache
    }

    /// `host:port` (IPv6 in brackets) → host and port.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        ListenAddress(text).map { ($0.host, $0.port) }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Binds and serves; returns the bound port once the socket listens, or throws why not.
    /// Without credentials a non-loopback address is replaced by 127.0.0.1 (or ::1), and
    /// the log says so.
    @discardableResult
    public func start() throws -> Int {
        var host = settings.host
        if settings.access.isOpen && !Self.isLoopback(host) {
            let loopback = host.contains(":") ? "::1" : "127.0.0.1"
            logger.warning("lvsd: monitor: no credentials configured (--monitor-users or --monitor-token-file): listening on loopback \(loopback) only, not \(host)")
            host = loopback
        }
        let router = Router()
        router.add(middleware: AccessMiddleware(access: settings.access, accepted: accepted))
        router.get("/metrics") { [cache, build] _, _ -> Response in
            let observation = await cache.current()
            let text = MetricsExposition.render(observation, build: build, process: ProcessSample.current())
            return Response(status: .ok, headers: [.contentType: MetricsExposition.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/api/state") { [self] _, _ -> Response in
            let state = await self.state()
            let data = (try? JSONEncoder().encode(state)) ?? Data()
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/events") { [self] _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                     body: ResponseBody { writer in
                         // Ends when the client goes (the write throws), or lvsd stops.
                         while !self.stopping.load(ordering: .relaxed) && !Task.isCancelled {
                             let state = await self.state()
                             let json = (try? JSONEncoder().encode(state)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                             try await writer.write(ByteBuffer(string: "data: \(json)\n\n"))
                             try? await Task.sleep(for: self.settings.eventInterval)
                         }
                         try await writer.finish(nil)
                     })
        }
        router.get("/") { [self] _, _ -> Response in
            var state = await self.state()
            state.history = self.history.series
            let json = (try? JSONEncoder().encode(state)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: MonitorPage.html(stateJSON: json))))
        }
        let server: HTTPServerBuilder
        if let tls = settings.tls {
            do {
                server = try .tls(.http1(), tlsConfiguration: try tls.configuration())
            } catch let error as MonitorConfigError {
                throw error
            } catch {
                throw MonitorConfigError("cannot set up TLS with \(tls.certificateFile) and \(tls.keyFile): \(error)")
            }
        } else {
            server = .http1()
        }
        let bound = BoundPort()
        let app = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(host, port: settings.port), serverName: "lvsd"),
            onServerRunning: { channel in bound.set(.success(channel.localAddress?.port ?? 0)) },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let listening = "\(host):\(settings.port)"
        let task = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                bound.set(.failure(MonitorConfigError("cannot listen on \(listening): \(error)")))
            }
            bound.set(.failure(MonitorConfigError("the monitor stopped before it listened")))
        }
        // The charts' memory fills once a second while lvsd runs, watched or not (one more
        // read of the workers a second, as the rate estimator's tick does).
        let sampler = Task { [self] in
            while !self.stopping.load(ordering: .relaxed) && !Task.isCancelled {
                _ = await self.state()
                try? await Task.sleep(for: self.settings.eventInterval)
            }
        }
        self.task.withLock { $0 = task }
        self.sampler.withLock { $0 = sampler }
        let port: Int
        do {
            port = try bound.wait()
        } catch {
            stop()
            throw error
        }
        let scheme = settings.tls == nil ? "http" : "https"
        logger.notice("lvsd: monitor: \(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)/ (metrics at /metrics)\(settings.access.isOpen ? ", no authentication" : ", authentication required")",
                      metadata: ["url": "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)/"])
        return port
    }

    /// The monitor's view of the current observation, its rates remembered for the charts.
    private func state() async -> MonitorState {
        let observation = await cache.current()
        let state = MonitorState(observation)
        history.record(state, takenAt: observation.takenAt)
        return state
    }

    /// Stops serving: open event streams end, the listener closes (waits at most a few seconds).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        sampler.withLock { $0 }?.cancel()
        guard let task = task.withLock({ $0 }) else { return }
        task.cancel()
        let done = DispatchSemaphore(value: 0)
        Task {
            await task.value
            done.signal()
        }
        _ = done.wait(timeout: .now() + 5)
        try? group.syncShutdownGracefully()
    }
}

/// The port the listener got, handed from the server's task to `start`'s thread.
private final class BoundPort: Sendable {
    private let result = Mutex<Result<Int, MonitorConfigError>?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func set(_ value: Result<Int, MonitorConfigError>) {
        let first = result.withLock { current -> Bool in
            guard current == nil else { return false }
            current = value
            return true
        }
        if first { ready.signal() }
    }

    func wait() throws(MonitorConfigError) -> Int {
        guard ready.wait(timeout: .now() + 30) == .success else { throw MonitorConfigError("the monitor did not start listening within 30 s") }
        return try result.withLock { $0! }.get()
    }
}

/// 401 with a Basic challenge unless the request carries accepted credentials.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: MonitorAccess
    let accepted: AcceptedCredentials

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if access.isOpen { return try await next(request, context) }
        guard let authorization = request.headers[.authorization] else { return Self.challenge }
        if !accepted.contains(authorization) {
            let headers = request.headers
            // Bcrypt takes tens of milliseconds by design: off the event loop.
            let ok = await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: access.allows(headers)) }
            }
            guard ok else { return Self.challenge }
            accepted.insert(authorization)
        }
        return try await next(request, context)
    }

    static var challenge: Response {
        Response(status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"lvsd\", charset=\"UTF-8\""],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: "401 Unauthorized: this lvsd monitor needs credentials.\n")))
    }
}

/// The last observation, refreshed when older than `maxAge`; refreshing reads the workers,
/// which may wait for one batch, so it runs on a Dispatch thread, not the event loop.
public final class ObservationCache: Sendable {
    private let observe: @Sendable () -> DirectorObservation
    private let state = Mutex<(taken: ContinuousClock.Instant, value: DirectorObservation)?>(nil)
    private let refresh = Mutex<Void>(())
    let maxAge: Duration = .milliseconds(500)

    public init(observe: @escaping @Sendable () -> DirectorObservation) { self.observe = observe }

    func current() async -> DirectorObservation {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.currentBlocking()) }
        }
    }

    public func currentBlocking() -> DirectorObservation {
        // One refresh at a time: clients arriving together share it.
        refresh.withLock { _ in
            if let cached = state.withLock({ $0 }), cached.taken.duration(to: .now) < maxAge { return cached.value }
            let value = observe()
            state.withLock { $0 = (.now, value) }
            return value
        }
    }
}
