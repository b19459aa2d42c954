import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the two-director labs (`lvsd lab --ha`, `lvsd lab --seed 002`) share: hosts on one
/// bridge, lvsd directors started on a keepalived.conf and waited for until their VRRP
/// instance runs, `lvsadm` over each director's socket, bounded waits, and the teardown.
/// Each director `d` keeps its files in the lab's folder: `d.conf`, `d.log`, `d.sock`.
struct LabDirectorPair {
    let shell: LabShell
    /// Names every namespace: `prefix + name`.
    let prefix: String
    let directory: String

    func ns(_ name: String) -> String { prefix + name }

    /// A namespace `switch` holding bridge `br0` and one namespace per host, joined to it by a
    /// veth pair (`p-<name>` on the bridge, `device` in the host) with the host's address.
    /// No multicast snooping: VRRP adverts, sync messages and lvsd's neighbour solicitations
    /// must reach every port.
    func buildSwitch(_ hosts: [(name: String, address: String, device: String)]) throws {
        for n in ["switch"] + hosts.map(\.name) {
            try shell.run(["ip", "netns", "add", ns(n)])
            try shell.run(["ip", "-n", ns(n), "link", "set", "lo", "up"])
        }
        try shell.run(["ip", "-n", ns("switch"), "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try shell.run(["ip", "-n", ns("switch"), "link", "set", "br0", "up"])
        for (name, address, device) in hosts {
            try shell.run(["ip", "-n", ns("switch"), "link", "add", "p-\(name)", "type", "veth", "peer", "name", device, "netns", ns(name)])
            try shell.run(["ip", "-n", ns("switch"), "link", "set", "p-\(name)", "master", "br0"])
            try shell.run(["ip", "-n", ns("switch"), "link", "set", "p-\(name)", "up"])
            try shell.run(["ip", "-n", ns(name), "address", "add", "\(address)/24", "dev", device])
            try shell.run(["ip", "-n", ns(name), "link", "set", device, "up"])
        }
    }

    /// `lvsd run --config DIR/d.conf --interface INTERFACE ... --socket DIR/d.sock` in `d`'s
    /// namespace, its output in `DIR/d.log`; returns its PID once it logs that VRRP instance
    /// `instance` runs, or throws with its log when it exits first.
    func startDirector(_ d: String, interface: String, instance: String, extra: [String] = []) throws -> Int32 {
        let log = "\(directory)/\(d).log"
        let pid = try shell.start(in: ns(d), [LabRun.selfPath, "run", "--config", "\(directory)/\(d).conf", "--interface", interface]
                                  + extra + ["--socket", "\(directory)/\(d).sock"], log: log)
        try waitUntil("lvsd on \(d) runs VRRP (\(log))", seconds: 20) {
            guard shell.isRunning(pid) else { throw LabShell.Failure(command: ["lvsd", d], status: -1, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "") }
            return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("lvsd: vrrp: running \(instance)")
        }
        return pid
    }

    /// `lvsadm ARGUMENTS` against director `d`; its output, empty when it failed to run.
    func lvsadm(_ d: String, _ arguments: [String]) -> String {
        let lvsadm = URL(fileURLWithPath: LabRun.selfPath).deletingLastPathComponent().appendingPathComponent("lvsadm").path
        return (try? shell.run([lvsadm, "--socket", "\(directory)/\(d).sock"] + arguments, check: false).output) ?? ""
    }

    /// VRRP instance `instance`'s line in `d`'s `lvsadm --vrrp`.
    func vrrpLine(_ d: String, instance: String) -> String? {
        lvsadm(d, ["--vrrp"]).split(separator: "\n").first { $0.hasPrefix("\(instance) ") }.map(String.init)
    }

    /// The instance's state (MASTER, BACKUP, ...) as `d` lists it.
    func state(_ d: String, instance: String) -> String? {
        vrrpLine(d, instance: instance)?.split(separator: " ").dropFirst().first.map(String.init)
    }

    /// Polls `condition` every `poll` µs until it holds; throws naming `what` after `seconds`.
    func waitUntil(_ what: String, seconds: Double, poll: UInt32 = 50_000, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(poll)
        }
        throw LabShell.Failure(command: ["wait"], status: -1, output: "timed out after \(Int(seconds)) s waiting until \(what)")
    }

    /// Stops what the lab started, deletes its namespaces (and what still runs in them or
    /// carries the lab's tag `id`) and its folder.
    func cleanUp(id: String? = nil) {
        shell.stopAll()
        _ = LabNetwork.teardown(prefix: prefix, id: id, shell: shell)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
