import Control
#if canImport(Glibc)
import Glibc
#endif

/// lvsadm's end of the control socket: connect, send one request, read one answer.
///
/// Failing to reach lvsd is reported in ipvsadm's words for an IPVS it cannot open
/// ("Can't initialize ipvs: ...", exit 2), with the reason and what to check; a user who
/// may not open the socket gets the same permission sentence lvsd sends.
public enum ControlSocketClient {
    /// How long to wait for lvsd's answer (a listing of many connections takes a while).
    public static let timeoutSeconds = 60

    public static func send(_ request: ControlRequest, to path: String) -> Result<ControlResponse, AdminError> {
        guard path.utf8.count <= UnixSocket.maximumPathLength else {
            return .failure(AdminError("Can't initialize ipvs: the control socket path is too long",
                                       detail: "'\(path)' has more than \(UnixSocket.maximumPathLength) bytes",
                                       exitCode: AdminError.usageExit))
        }
        let fd: Int32
        do {
            fd = try UnixSocket.stream()
        } catch {
            return .failure(unreachable(path, error.code))
        }
        defer { close(fd) }
        do {
            try UnixSocket.connect(fd, to: path)
        } catch {
            return .failure(unreachable(path, error.code))
        }
        UnixSocket.setTimeouts(fd, seconds: timeoutSeconds)
        var sendFailure: String?
        do {
            try UnixSocket.writeAll(fd, try ControlFrame.encode(request))
        } catch {
            // lvsd may have answered (a refusal) and closed before reading all of it: its
            // answer, if there is one, says more than the broken pipe.
            sendFailure = "\(error)"
        }
        do {
            let body = try UnixSocket.readFrame(fd)
            return .success(try ControlFrame.decode(ControlResponse.self, body: body))
        } catch {
            return .failure(broken(path, sendFailure ?? "\(error)"))
        }
    }

    static func unreachable(_ path: String, _ code: Int32) -> AdminError {
        if code == EACCES || code == EPERM {
            guard case .failed(let error) = ControlResponse.permissionDenied else { preconditionFailure() }
            return error
        }
        let reason = String(cString: strerror(code))
        return AdminError("Can't initialize ipvs: lvsd does not answer at \(path): \(reason)",
                          detail: "Is lvsd running? It listens on \(Lvsadm.defaultSocketPath) unless started with another "
                              + "--socket; lvsadm takes --socket PATH or $\(Lvsadm.socketEnvironmentVariable) to match.",
                          exitCode: AdminError.usageExit)
    }

    static func broken(_ path: String, _ reason: String) -> AdminError {
        AdminError("lvsadm: the exchange with lvsd at \(path) failed: \(reason)", exitCode: AdminError.operationExit)
    }
}
