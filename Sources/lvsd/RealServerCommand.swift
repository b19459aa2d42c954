import ArgumentParser
import Dispatch
import Foundation
import Lab
import Wire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd realserver --vip VIP --mode dr|tun [--dry-run]`: prepares the namespace it runs in
/// to be a DR or TUN real server. DR configures and returns; TUN also decapsulates the
/// director's tunnels (IPIP, IPv6-in-IP, GRE, GUE; IPv4 or IPv6 outside) in the foreground
/// until SIGINT/SIGTERM, since this kernel has no tunnel modules.
struct RealServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realserver",
        abstract: "Configure this host as a DR or TUN real server (VIP on lo, ARP settings; TUN: user-space decapsulation).",
        discussion: """
            DR: puts the VIP on lo (/32 or /128) and sets arp_ignore=1, arp_announce=2 on 'all' and \
            each interface, so only the director answers ARP for the VIP. TUN: the same, plus \
            loose rp_filter on its TUN device, and then decapsulates the director's tunnels itself: \
            AF_PACKET reads IPIP, IPv6-in-IP, GRE and (with --gue-port) GUE frames, over IPv4 or \
            IPv6, addressed to this host; the inner packet goes to the kernel through a TUN device \
            (lvstun0), and the server answers the client directly from the VIP. TUN runs until \
            SIGINT or SIGTERM. Run it inside the real server's network namespace, as root.
            """
    )

    @Option(name: .long, help: "The virtual IP address (IPv4 or IPv6).")
    var vip: String

    @Option(name: .long, help: "dr or tun.")
    var mode: String

    @Option(name: .customLong("interface"), help: ArgumentHelp("An interface facing the director (repeatable; default: every interface but lo).", valueName: "name"))
    var interfaces: [String] = []

    @Option(name: .customLong("director"), help: ArgumentHelp("TUN: a director's IPv4 or IPv6 address, the outer source of the tunnel packets to accept (repeatable; default: any source, with a warning).", valueName: "address"))
    var directors: [String] = []

    @Option(name: .customLong("gue-port"), help: ArgumentHelp("TUN: the UDP port GUE arrives on (the director's --tun-port); without it GUE is not decapsulated.", valueName: "port"))
    var guePort: UInt16?

    @Flag(name: .long, help: "Print the commands instead of running them.")
    var dryRun = false

    func validate() throws {
        guard let parsed = RealServerPlan.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be dr or tun, got '\(mode)'.")
        }
        var v4 = in_addr(), v6 = in6_addr()
        let isV4 = inet_pton(AF_INET, vip, &v4) == 1
        let isV6 = inet_pton(AF_INET6, vip, &v6) == 1
        guard isV4 || isV6 else { throw ValidationError("--vip must be an IPv4 or IPv6 address, got '\(vip)'.") }
        for director in directors where inet_pton(AF_INET, director, &v4) != 1 && inet_pton(AF_INET6, director, &v6) != 1 {
            throw ValidationError("--director must be an IPv4 or IPv6 address (the tunnel's outer source), got '\(director)'.")
        }
        if let guePort {
            guard parsed == .tun else { throw ValidationError("--gue-port applies to --mode tun only.") }
            guard guePort != 0 else { throw ValidationError("--gue-port must be a port from 1 to 65535.") }
        }
    }

    /// Interfaces in this namespace other than lo (/proc/net/dev is per namespace).
    static func namespaceInterfaces() -> [String] {
        let text = (try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst(2).compactMap { line in
            let name = line.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) ?? ""
            return name.isEmpty || name == "lo" || name.hasPrefix("lvstun") ? nil : name
        }
    }

    func run() throws {
        let plan = RealServerPlan(vip: vip, mode: RealServerPlan.Mode(rawValue: mode)!,
                                  interfaces: interfaces.isEmpty ? Self.namespaceInterfaces() : interfaces,
                                  directors: directors, guePort: guePort ?? 0)
        let commands = plan.commands
        // TUN: the device must exist before `ip link set ... up`; the helper creates it first.
        let split = commands.count - plan.tunnelCommands.count
        if dryRun {
            for command in commands[..<split] { print(command.joined(separator: " ")) }
            if plan.mode == .tun {
                print(plan.tunnelDescription)
                for command in commands[split...] { print(command.joined(separator: " ")) }
            }
            return
        }
        guard getuid() == 0 else {
            Console.error("lvsd realserver: must run as root; try 'sudo lvsd realserver ...' or --dry-run.")
            throw ExitCode(2)
        }
        let shell = LabShell()
        func apply(_ list: ArraySlice<[String]>) throws {
            for command in list {
                do {
                    try shell.run(command)
                    say("lvsd realserver: \(command.joined(separator: " "))")
                } catch {
                    Console.error("lvsd realserver: \(error)")
                    throw ExitCode.failure
                }
            }
        }
        try apply(commands[..<split])
        guard plan.mode == .tun else {
            say("lvsd realserver: DR real server for \(vip) ready")
            return
        }
        let tunnel: RealServerTunnel
        do {
            tunnel = try RealServerTunnel(device: plan.tunnelDevice, interfaces: plan.interfaces,
                                          directors: Set(directors.compactMap { IPAddress($0) }), guePort: guePort ?? 0)
        } catch {
            Console.error("lvsd realserver: \(error)")
            throw ExitCode.failure
        }
        try apply(commands[split...])
        let stop = RealServerStop()
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.flag.store(true, ordering: .releasing) }
            source.resume()
            sources.append(source)
        }
        if directors.isEmpty {
            say("lvsd realserver: warning: no --director given: tunnels from any source are decapsulated, so anyone who can reach this host can inject packets from any address")
        }
        say("lvsd realserver: decapsulating tunnels for \(vip) on \(plan.interfaces.joined(separator: ", ")) into \(plan.tunnelDevice)")
        let count = tunnel.run(until: { stop.flag.load(ordering: .acquiring) })
        say("lvsd realserver: stopped; \(count) packets decapsulated, \(tunnel.foreignSources) from other sources ignored, \(tunnel.writeErrors) TUN write errors")
        _ = sources
    }
}

/// The TUN helper's stop flag, set from a Dispatch signal source.
final class RealServerStop: Sendable {
    let flag = Atomic<Bool>(false)
}

/// Unbuffered stdout line: the lab waits for the helper's lines in its log file.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
