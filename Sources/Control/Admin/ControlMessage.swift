import Core
import Foundation

/// The messages between lvsadm and lvsd, defined once for both ends.
///
/// On lvsd's control socket (a Unix stream socket) the client sends one `ControlRequest`
/// and the daemon answers with one `ControlResponse`, then the connection closes. Each
/// message is a frame: a 4-byte big-endian length, then that many bytes of JSON
/// (`ControlFrame`). A request is small; a response with the connection table may be
/// large, so frames may be up to `ControlFrame.maximumLength`.
public struct ControlRequest: Sendable, Hashable, Codable {
    /// Bumped when a message changes incompatibly; lvsd refuses other versions.
    public static let currentVersion = 1

    public enum Body: Sendable, Hashable, Codable {
        /// Apply these commands all or nothing: one for a command line, many for `-R`.
        case apply([AdminCommand])
        /// The table for a listing, with the connections only when asked for.
        case snapshot(includeConnections: Bool)
        /// Re-read the configuration file and swap it in, or keep what runs (as SIGHUP).
        case reload
        /// The health checkers' state, as text.
        case health
        /// lvsd's VRRP instances, as text.
        case vrrp
        /// `--start-daemon`: start a connection-sync daemon (Docs/connection-sync.md).
        case startDaemon(SyncDaemonSettings)
        /// `--stop-daemon`: stop the daemon of this role.
        case stopDaemon(SyncRole)
        /// `-L --daemon`: the sync daemons running.
        case syncDaemons
    }

    public var version: Int
    public var body: Body

    public init(_ body: Body, version: Int = ControlRequest.currentVersion) {
        self.version = version
        self.body = body
    }
}

public enum ControlResponse: Sendable, Hashable, Codable {
    /// The commands were applied.
    case applied
    case snapshot(AdminSnapshot)
    /// A listing lvsd renders itself (`--health`, `--vrrp`).
    case text(String)
    /// The sync daemons running, master first (`-L --daemon`).
    case syncDaemons([SyncDaemonSettings])
    /// Refused; nothing changed. `AdminError.commandIndex` names the failing command of a batch.
    case failed(AdminError)

    /// What lvsd answers a client that is not root (checked with SO_PEERCRED), and what
    /// lvsadm says when the socket's mode keeps it out; exit 2 as ipvsadm's "Can't
    /// initialize ipvs: Permission denied (you must be root)".
    public static let permissionDenied = ControlResponse.failed(AdminError(
        "lvsadm: permission denied: the lvsd control socket is for root only", exitCode: AdminError.usageExit))

    /// What lvsd answers a request of another protocol version.
    public static func unsupportedVersion(_ version: Int) -> ControlResponse {
        .failed(AdminError("lvsadm: lvsd speaks control protocol version \(ControlRequest.currentVersion), not \(version)",
                           detail: "use the lvsadm that came with this lvsd", exitCode: AdminError.operationExit))
    }
}

/// Length-prefixed JSON frames.
public enum ControlFrame {
    /// 256 MiB: a listing of about a million connections.
    public static let maximumLength = 256 << 20
    public static let headerLength = 4

    public enum FrameError: Error, Equatable, CustomStringConvertible {
        case tooLong(Int)
        case undecodable(String)

        public var description: String {
            switch self {
            case .tooLong(let length): "a control message of \(length) bytes is over the limit of \(ControlFrame.maximumLength)"
            case .undecodable(let reason): "a control message could not be read: \(reason)"
            }
        }
    }

    /// The frame for `message`: header and JSON body.
    public static func encode(_ message: some Encodable) throws(FrameError) -> [UInt8] {
        let body: Data
        do {
            body = try JSONEncoder().encode(message)
        } catch {
            throw .undecodable("\(error)")
        }
        guard body.count <= maximumLength else { throw .tooLong(body.count) }
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + [UInt8](body)
    }

    /// The body length a header announces, checked against the limit.
    public static func bodyLength(header: some Collection<UInt8>) throws(FrameError) -> Int {
        precondition(header.count == headerLength, "a frame header is 4 bytes")
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumLength else { throw .tooLong(length) }
        return length
    }

    public static func decode<T: Decodable>(_ type: T.Type, body: some Collection<UInt8>) throws(FrameError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .undecodable("\(error)")
        }
    }
}
