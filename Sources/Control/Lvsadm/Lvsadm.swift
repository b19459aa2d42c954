/// What one run of lvsadm prints and returns.
public struct LvsadmOutcome: Sendable, Hashable {
    public var standardOutput: String
    public var standardError: String
    public var exitCode: Int32

    public init(standardOutput: String = "", standardError: String = "", exitCode: Int32 = 0) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.exitCode = exitCode
    }
}

/// lvsadm from argv to output, with the daemon behind a closure: the executable passes
/// the control-socket client, tests pass a function. Nothing here touches the system.
public enum Lvsadm {
    /// Where lvsd listens unless told otherwise.
    public static let defaultSocketPath = "/run/lvsd/lvsd.sock"
    /// The environment variable that overrides the default (`--socket` overrides both).
    public static let socketEnvironmentVariable = "LVSD_SOCKET"

    /// `--socket PATH`, else `$LVSD_SOCKET`, else /run/lvsd/lvsd.sock.
    public static func socketPath(_ invocation: LvsadmInvocation, environment: [String: String]) -> String {
        if let path = invocation.socketPath { return path }
        if let path = environment[socketEnvironmentVariable], !path.isEmpty { return path }
        return defaultSocketPath
    }

    /// Runs one command line. `send` delivers a request to lvsd and returns its answer, or
    /// an error saying why lvsd could not be reached; `standardInput` is read only by `-R`.
    public static func run(_ invocation: LvsadmInvocation, program: String = "lvsadm", standardInput: () -> String,
                           send: (ControlRequest) -> Result<ControlResponse, AdminError>) -> LvsadmOutcome {
        func failure(_ error: AdminError) -> LvsadmOutcome {
            LvsadmOutcome(standardError: error.description + "\n", exitCode: error.exitCode)
        }
        func snapshot(connections: Bool) -> Result<AdminSnapshot, AdminError> {
            switch send(ControlRequest(.snapshot(includeConnections: connections))) {
            case .success(.snapshot(let snapshot)): .success(snapshot)
            case .success(.failed(let error)): .failure(error)
            case .success(let other): .failure(unexpected(other))
            case .failure(let error): .failure(error)
            }
        }
        func print(_ render: (AdminSnapshot) throws(AdminError) -> String, connections: Bool = false) -> LvsadmOutcome {
            switch snapshot(connections: connections) {
            case .failure(let error): return failure(error)
            case .success(let snapshot):
                do {
                    return LvsadmOutcome(standardOutput: try render(snapshot))
                } catch {
                    return failure(error)
                }
            }
        }
        func apply(_ commands: [AdminCommand], restoring text: String? = nil) -> LvsadmOutcome {
            switch send(ControlRequest(.apply(commands))) {
            case .success(.applied): return LvsadmOutcome()
            case .success(.failed(let error)): return failure(text.map { AdminRestore.locate(error, lines: $0) } ?? error)
            case .success(let other): return failure(unexpected(other))
            case .failure(let error): return failure(error)
            }
        }

        switch invocation.action {
        case .help:
            return LvsadmOutcome(standardOutput: LvsadmUsage.text(program: program))
        case .version:
            return LvsadmOutcome(standardOutput: LvsadmUsage.version + "\n")
        case .change(let command):
            return apply([command])
        case .restore:
            let text = standardInput()
            do {
                return apply(try AdminRestore.commands(text, program: program), restoring: text)
            } catch {
                return failure(error)
            }
        case .list(let request) where request.subject == .daemon:
            switch send(ControlRequest(.syncDaemons)) {
            case .success(.syncDaemons(let daemons)): return LvsadmOutcome(standardOutput: AdminListing.daemons(daemons))
            case .success(.failed(let error)): return failure(error)
            case .success(let other): return failure(unexpected(other))
            case .failure(let error): return failure(error)
            }
        case .startDaemon(let settings):
            return simple(.startDaemon(settings))
        case .stopDaemon(let role):
            return simple(.stopDaemon(role))
        case .list(let request):
            return print({ (s) throws(AdminError) in try AdminListing.render(request, s) }, connections: request.subject == .connections)
        case .save(let numeric):
            return print { AdminListing.save($0, numeric: numeric) }
        case .getLocalAddresses(let key):
            return print { (s) throws(AdminError) in try AdminListing.localAddresses(s, service: key) }
        case .health, .vrrp:
            switch send(ControlRequest(invocation.action == .vrrp ? .vrrp : .health)) {
            case .success(.text(let text)): return LvsadmOutcome(standardOutput: text)
            case .success(.failed(let error)): return failure(error)
            case .success(let other): return failure(unexpected(other))
            case .failure(let error): return failure(error)
            }
        case .reload:
            return simple(.reload)
        }

        /// A request answered with `.applied` or a refusal.
        func simple(_ body: ControlRequest.Body) -> LvsadmOutcome {
            switch send(ControlRequest(body)) {
            case .success(.applied): return LvsadmOutcome()
            case .success(.failed(let error)): return failure(error)
            case .success(let other): return failure(unexpected(other))
            case .failure(let error): return failure(error)
            }
        }
    }

    static func unexpected(_ response: ControlResponse) -> AdminError {
        AdminError("lvsadm: lvsd sent an answer that does not fit the request", detail: "\(response)", exitCode: AdminError.operationExit)
    }
}
