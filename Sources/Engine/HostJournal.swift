import Foundation

/// What lvsd changed on the host, written down before each change, so a later start (or
/// `lvsd cleanup`) can put back what an lvsd that was killed could not: one file per network
/// namespace (sysctls and the nftables table are per namespace; /run is shared), removed
/// when the change has been undone.
///
/// JSON, replaced with a rename each time, so a crash leaves the previous whole version.
struct HostJournal: Codable, Equatable {
    struct Sysctl: Codable, Equatable {
        var path: String
        var name: String
        /// The value before lvsd changed it.
        var value: String
    }

    var sysctls: [Sysctl] = []
    var createdTable = false

    /// The journal of the network namespace lvsd runs in, under `directory`.
    static func path(in directory: String) -> String {
        // /proc/self/ns/net reads as "net:[4026531840]": the namespace's inode names it.
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? "net:[0]"
        let inode = link.filter(\.isNumber)
        return directory + "/host-settings-netns-\(inode.isEmpty ? "0" : inode).json"
    }

    static func load(_ path: String) -> HostJournal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(HostJournal.self, from: data)
    }

    /// Writes the journal atomically; the error says why it could not be.
    func save(_ path: String) throws(EngineError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw EngineError("cannot record the host settings lvsd changes in \(path): \(error)")
        }
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}
