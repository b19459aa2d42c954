import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Carries out a `LabPlan` with `ip` and `sysctl`, and takes it down again.
public struct LabNetwork {
    let plan: LabPlan
    let shell: LabShell

    /// Creates the namespaces, veths, bridge, addresses and routes.
    func build() throws {
        for ns in plan.namespaces {
            try shell.run(["ip", "netns", "add", ns])
            try shell.run(["ip", "-n", ns, "link", "set", "lo", "up"])
            // No duplicate address detection: addresses are usable at once, and the lab owns
            // every address on its links.
            try shell.run(in: ns, ["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
        }
        let sw = plan.switchNamespace
        // No multicast snooping: lvsd answers neighbour solicitations without joining the
        // solicited-node group, so the bridge must flood them.
        try shell.run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try shell.run(["ip", "-n", sw, "link", "set", "br0", "up"])
        for link in plan.links {
            var argv = ["ip", "link", "add", link.name]
            if let mac = link.mac { argv += ["address", mac] }
            argv += ["netns", link.namespace, "type", "veth", "peer", "name", link.peer]
            if let mac = link.peerMAC { argv += ["address", mac] }
            argv += ["netns", link.peerNamespace]
            try shell.run(argv)
            if link.peerNamespace == sw {
                try shell.run(["ip", "-n", sw, "link", "set", link.peer, "master", "br0"])
            }
            // The kernel's default offloads stay on: senders hand lvsd 64 KiB super-frames,
            // as on a user's host.
            for (ns, name) in [(link.namespace, link.name), (link.peerNamespace, link.peer)] {
                try shell.run(["ip", "-n", ns, "link", "set", name, "up"])
            }
        }
        for address in plan.addresses {
            var argv = ["ip", "-n", address.namespace, "address", "add", address.cidr, "dev", address.interface]
            if address.cidr.contains(":") { argv.append("nodad") }
            try shell.run(argv)
        }
        for route in plan.routes {
            let family = route.arguments.first == "-6" ? ["-6"] : []
            try shell.run(["ip"] + family + ["-n", route.namespace, "route", "add"] + route.arguments.drop(while: { $0 == "-6" }))
        }
    }

    /// "namespace/interface" → MAC, as the kernel reports it (`ip -j link`).
    func macs() throws -> [String: String] {
        var result: [String: String] = [:]
        for link in plan.links {
            for (ns, name) in [(link.namespace, link.name), (link.peerNamespace, link.peer)] {
                let output = try shell.run(["ip", "-n", ns, "-j", "link", "show", "dev", name]).output
                if let data = output.data(using: .utf8),
                   let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
                   let mac = list.first?["address"] as? String {
                    result["\(ns)/\(name)"] = mac
                }
            }
        }
        return result
    }

    /// Namespaces whose names start with `prefix` (`ip netns list`).
    static func namespaces(prefix: String, shell: LabShell) -> [String] {
        guard let output = try? shell.run(["ip", "netns", "list"], check: false).output else { return [] }
        return output.split(separator: "\n").compactMap { line in
            let name = String(line.split(separator: " ").first ?? "")
            return name.hasPrefix(prefix) ? name : nil
        }
    }

    /// Processes whose environment carries the lab's tag (`LVSD_LAB=<id>`, set by `LabShell`
    /// on everything the lab starts), wherever they run: a process that left its namespace,
    /// or whose namespace is already gone, is still found.
    static func taggedProcesses(id: String) -> [Int32] {
        let needle = Array("\(LabShell.tagVariable)=\(id)".utf8) + [0]
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != me,
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
            // environ is NUL-separated; match whole entries only ("LVSD_LAB=12" is not "...=123").
            let bytes = [0] + Array(data) + [0]
            let full = [UInt8(0)] + needle
            guard bytes.count >= full.count else { return nil }
            for start in 0...(bytes.count - full.count) where bytes[start..<(start + full.count)].elementsEqual(full) {
                return pid
            }
            return nil
        }
    }

    /// Ends every process still inside the lab's namespaces (by PID, from `ip netns pids`)
    /// and every process carrying the lab's tag, then deletes the namespaces; their veths and
    /// the bridge go with them. Used at the end of a run, on Ctrl-C, and by
    /// `lvsd lab --teardown ID`. Returns the namespaces deleted.
    @discardableResult
    public static func teardown(prefix: String, id labID: String? = nil, shell: LabShell) -> [String] {
        let found = namespaces(prefix: prefix, shell: shell)
        var pids: [Int32] = []
        for ns in found {
            let output = (try? shell.run(["ip", "netns", "pids", ns], check: false).output) ?? ""
            pids += output.split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        }
        // "lvsl-<id>-" → "<id>"
        let id = labID ?? String(prefix.dropFirst("lvsl-".count).dropLast())
        for pid in taggedProcesses(id: id) where !pids.contains(pid) { pids.append(pid) }
        let me = getpid()
        pids.removeAll { $0 == me }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, pids.contains(where: { kill($0, 0) == 0 }) { usleep(20_000) }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        for ns in found { _ = try? shell.run(["ip", "netns", "delete", ns], check: false) }
        return found
    }
}
