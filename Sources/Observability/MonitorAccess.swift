import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdBcrypt
import Synchronization

/// Who may read the monitor and /metrics: HTTP basic users whose passwords are bcrypt
/// hashes (an htpasswd-style file, `user:$2b$...` per line, as `lvsd monitor-user` prints
/// them), and/or one bearer token. With neither, lvsd serves loopback only (`MonitorServer`).
public struct MonitorAccess: Sendable {
    public var users: [String: String]
    public var bearerToken: String?

    public init(users: [String: String] = [:], bearerToken: String? = nil) {
        self.users = users
        self.bearerToken = bearerToken
    }

    public var isOpen: Bool { users.isEmpty && bearerToken == nil }

    /// A credentials file line for `user` (bcrypt, cost 10: ~50 ms to check, once per client).
    public static func credentialsLine(user: String, password: String, cost: UInt8 = 10) -> String {
        "\(user):\(Bcrypt.hash(password, cost: cost))"
    }

    /// The users of a credentials file: `name:hash` lines; blank lines and `#` comments skipped.
    public static func parseUsers(_ text: String, file: String) throws(MonitorConfigError) -> [String: String] {
        var users: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw MonitorConfigError("\(file):\(number + 1):1: error: expected 'user:bcrypt-hash' (make one with 'lvsd monitor-user NAME')")
            }
            let hash = String(line[line.index(after: colon)...])
            guard hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$") else {
                throw MonitorConfigError("\(file):\(number + 1):\(line.distance(from: line.startIndex, to: colon) + 2): error: the password must be a bcrypt hash ($2b$...), not plain text; make one with 'lvsd monitor-user NAME'")
            }
            users[String(line[..<colon])] = hash
        }
        guard !users.isEmpty else { throw MonitorConfigError("\(file): error: no 'user:bcrypt-hash' line; make one with 'lvsd monitor-user NAME'") }
        return users
    }

    public static func load(usersFile: String?, tokenFile: String?) throws(MonitorConfigError) -> MonitorAccess {
        var access = MonitorAccess()
        if let usersFile {
            access.users = try parseUsers(try read(usersFile), file: usersFile)
        }
        if let tokenFile {
            let token = try read(tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 16 else { throw MonitorConfigError("\(tokenFile): the bearer token must have at least 16 characters") }
            access.bearerToken = token
        }
        return access
    }

    private static func read(_ path: String) throws(MonitorConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MonitorConfigError("\(path): cannot read it: \(error.localizedDescription)")
        }
    }

    /// Whether `headers` carry credentials this access accepts. Bcrypt costs tens of
    /// milliseconds by design: call it off the event loop.
    func allows(_ headers: HTTPFields) -> Bool {
        if isOpen { return true }
        if let token = bearerToken, let bearer = headers.bearer {
            return Self.constantTimeEqual(Array(bearer.token.utf8), Array(token.utf8))
        }
        if let basic = headers.basic, let hash = users[basic.username] {
            return Bcrypt.verify(basic.password, hash: hash)
        }
        return false
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// Remembers `Authorization` values that passed, so a monitor polling every second costs one
/// bcrypt per client, not one per request. Bounded; a changed file means a restart anyway.
final class AcceptedCredentials: Sendable {
    private let accepted = Mutex<Set<String>>([])
    static let limit = 64

    func contains(_ authorization: String) -> Bool { accepted.withLock { $0.contains(authorization) } }

    func insert(_ authorization: String) {
        accepted.withLock {
            if $0.count >= Self.limit { $0.removeAll() }
            $0.insert(authorization)
        }
    }
}

/// A monitor setting lvsd cannot use: the file, line and column, and what to do.
public struct MonitorConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
