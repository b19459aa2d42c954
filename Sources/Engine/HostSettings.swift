import Foundation
import Wire
import Logging

/// The host settings the director needs so the kernel's own stack stays out of the way,
/// applied at start and removed at exit, each change logged.
///
/// - IPv4 and IPv6 forwarding off on each director interface: the kernel must not route
///   the frames lvsd forwards (NAT replies addressed to clients, for one) a second time.
/// - An nftables `netdev` table `swiftlvs` with one ingress chain per interface at priority
///   -500 dropping IPv4/IPv6 packets to the VIPs and LIPs, so the kernel never answers or
///   resets them. AF_PACKET taps see a frame before the netdev ingress hook, so lvsd still
///   gets every one of them.
///
/// `restore()` puts back exactly what `apply` changed (a sysctl only if lvsd changed it;
/// the table only if lvsd created it). Every change is written to a `HostJournal` under
/// /run/lvsd before it is made, so what an lvsd that was killed left behind is put back by
/// the next start in the same network namespace, or by `lvsd cleanup`.
public final class HostSettings {
    public static let tableName = "swiftlvs"
    public static let journalDirectory = "/run/lvsd"
    private var journal = HostJournal()
    private let journalPath: String
    private let sysctlRoot: String
    private let logger: Logger

    /// - Parameters:
    ///   - journalDirectory: where the journal lives (tests pass a temporary directory).
    ///   - sysctlRoot: where `net/...` sysctls are (tests pass a directory of plain files).
    public init(logger: Logger, journalDirectory: String = HostSettings.journalDirectory, sysctlRoot: String = "/proc/sys") {
        self.logger = logger
        self.sysctlRoot = sysctlRoot
        journalPath = HostJournal.path(in: journalDirectory)
    }

    public func apply(interfaces: [String], dropAddresses: [IPAddress]) throws(EngineError) {
        recoverLeftovers()
        try disableForwarding(on: interfaces)
        try installTable(interfaces: interfaces, addresses: dropAddresses)
    }

    /// IPv4 and IPv6 forwarding off on each interface, each change journalled first.
    func disableForwarding(on interfaces: [String]) throws(EngineError) {
        for interface in interfaces {
            for family in ["ipv4", "ipv6"] {
                try setSysctl(family: family, interface: interface, key: "forwarding", to: "0")
            }
        }
    }

    /// Puts back what a previous lvsd in this network namespace changed and did not restore
    /// (it was killed): the journal's sysctls and its nftables table. Returns whether there
    /// was anything. `apply` calls it first; `lvsd cleanup` calls it alone.
    @discardableResult
    public func recoverLeftovers() -> Bool {
        guard let left = HostJournal.load(journalPath) else { return false }
        logger.warning("lvsd: host: \(journalPath) shows an lvsd that did not undo its host settings (killed?); putting them back")
        journal = left
        restore()
        return true
    }

    private func setSysctl(family: String, interface: String, key: String, to value: String) throws(EngineError) {
        let path = "\(sysctlRoot)/net/\(family)/conf/\(interface)/\(key)"
        let name = "net.\(family).conf.\(interface).\(key)"
        guard let old = HostInterfaces.readFile(path)?.trimmingWhitespace else {
            logger.info("lvsd: host: \(name) not present (\(family) disabled on \(interface)?), left alone")
            return
        }
        if old == value {
            logger.info("lvsd: host: \(name)=\(value) (already)")
            return
        }
        journal.sysctls.append(HostJournal.Sysctl(path: path, name: name, value: old))
        try journal.save(journalPath)
        if let code = HostInterfaces.writeFile(path, value) {
            journal.sysctls.removeLast()
            try journal.save(journalPath)
            throw EngineError("cannot set \(name)=\(value): \(String(cString: strerror(code))); run lvsd as root in the director's network namespace")
        }
        logger.info("lvsd: host: \(name)=\(value) (was \(old))")
    }

    /// A reload changed the VIPs or LIPs: the table is replaced in one nft transaction, so
    /// no packet sees it half-built.
    public func update(interfaces: [String], dropAddresses: [IPAddress]) throws(EngineError) {
        try installTable(interfaces: interfaces, addresses: dropAddresses, replacing: journal.createdTable)
    }

    private func installTable(interfaces: [String], addresses: [IPAddress], replacing: Bool = false) throws(EngineError) {
        if !replacing, (try? Self.nft(["list", "table", "netdev", Self.tableName])).map({ $0.status == 0 }) == true {
            // Only lvsd creates this table: a leftover means an earlier lvsd was killed.
            logger.info("lvsd: host: replacing leftover nftables table netdev \(Self.tableName)")
            _ = try? Self.nft(["delete", "table", "netdev", Self.tableName])
        }
        let v4 = addresses.filter(\.isIPv4).map(\.description)
        let v6 = addresses.filter { !$0.isIPv4 }.map(\.description)
        var script = replacing ? "delete table netdev \(Self.tableName)\n" : ""
        script += "table netdev \(Self.tableName) {\n"
        for interface in interfaces {
            script += "  chain ingress_\(interface.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")) {\n"
            script += "    type filter hook ingress device \"\(interface)\" priority -500; policy accept;\n"
            if !v4.isEmpty { script += "    ip daddr { \(v4.joined(separator: ", ")) } counter drop\n" }
            if !v6.isEmpty { script += "    ip6 daddr { \(v6.joined(separator: ", ")) } counter drop\n" }
            script += "  }\n"
        }
        script += "}\n"
        if !journal.createdTable {
            journal.createdTable = true
            try journal.save(journalPath)
        }
        let result: (status: Int32, output: String)
        do { result = try Self.nft(["-f", "-"], input: script) } catch {
            throw EngineError("cannot run nft to install the netdev table: \(error); install nftables")
        }
        guard result.status == 0 else {
            throw EngineError("nft refused the netdev table (exit \(result.status)): \(result.output.trimmingWhitespace)")
        }
        logger.info("lvsd: host: nftables table netdev \(Self.tableName): ingress drop of \((v4 + v6).joined(separator: ", ")) on \(interfaces.joined(separator: ", ")) (priority -500)")
    }

    /// Undoes everything `apply` changed, newest first; logs each step, and removes the
    /// journal. Safe to call twice.
    public func restore() {
        if journal.createdTable {
            let result = try? Self.nft(["delete", "table", "netdev", Self.tableName])
            if result?.status == 0 {
                logger.info("lvsd: host: removed nftables table netdev \(Self.tableName)")
            } else {
                logger.warning("lvsd: host: could not remove nftables table netdev \(Self.tableName): \(result?.output.trimmingWhitespace ?? "nft did not run"); remove it with 'nft delete table netdev \(Self.tableName)'")
            }
        }
        for sysctl in journal.sysctls.reversed() {
            let (path, name, value) = (sysctl.path, sysctl.name, sysctl.value)
            if let code = HostInterfaces.writeFile(path, value) {
                logger.warning("lvsd: host: could not restore \(name)=\(value): \(String(cString: strerror(code)))")
            } else {
                logger.info("lvsd: host: \(name)=\(value) (restored)")
            }
        }
        journal = HostJournal()
        HostJournal.remove(journalPath)
    }

    static func nft(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        let candidates = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        process.executableURL = URL(fileURLWithPath: candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/nft")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
