import ArgumentParser
import Dispatch
import Foundation
import Lab
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd lab`: the LVS lab the seeds build by hand, in network namespaces: a client, a
/// director running this very lvsd, three real servers running an HTTP server that names
/// itself. Sends a batch of requests to the VIP, prints the spread, and cleans up.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Build a client, a director and three real servers in network namespaces and load-balance HTTP through lvsd.",
        discussion: """
            Needs root, iproute2, curl and python3 (bash Scripts/install-deps.sh). Namespaces are \
            named lvsl-<id>-client, -director, -switch (the bridge), -rs1..3; addresses come from \
            198.18.0.0/15 and 2001:db8::/32; nothing is created in the root namespace. Exits non-zero \
            if any request failed. With --keep the lab stays up; 'lvsd lab --teardown <id>' removes it.
            """
    )

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case afPacket = "af_packet"
        case pcap
    }

    @Option(name: .long, help: "Forwarding method: nat, dr, fullnat or tun.")
    var mode: String = "nat"

    @Option(name: .long, help: "Scheduler for the virtual service (any lvsd scheduler).")
    var scheduler: String = "rr"

    @Option(name: .long, help: "HTTP requests to send, each on a new connection.")
    var requests = 30

    @Option(name: .long, help: ArgumentHelp("Real-server weights in order, comma-separated (the rules file's -w), e.g. 3,2,1.", valueName: "w1,w2,w3"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp("Make the service persistent for this many seconds (-p).", valueName: "seconds"))
    var persistent: Int?

    @Option(name: .long, help: ArgumentHelp("After the main phase, restart lvsd with this scheduling in the same lab and send --requests again (repeatable): SCHEDULER[:W1,W2,W3][:pSECONDS], e.g. wrr:3,2,1 or rr:p300.", valueName: "phase"))
    var then: [String] = []

    @Flag(name: .long, help: "Also run a UDP responder on each real server, add a -u service, and send --requests datagrams (each from a new source port).")
    var udp = false

    @Option(name: .long, help: ArgumentHelp("Have the real servers serve a file of this many MiB (deterministic content), download it once through the director and upload it once through it, comparing sha256 both ways.", valueName: "MB"))
    var transfer: Int?

    @Flag(name: .long, help: "Use the IPv6 VIP and real-server addresses (nat, dr, fullnat).")
    var ipv6 = false

    @Option(name: .long, help: "lvsd's packet engine: af_packet or pcap.")
    var engine: Engine = .afPacket

    @Option(name: .long, help: "lvsd worker threads.")
    var workers = 1

    @Flag(name: .long, help: "Write 'neighbour' lines for the IPv4 real servers too (IPv6 ones always are) instead of letting lvsd ARP for them.")
    var pinNeighbours = false

    @Flag(name: .long, help: "Leave the lab running after the requests; prints the command that removes it.")
    var keep = false

    @Flag(name: .long, help: "Print one JSON object instead of the tables.")
    var json = false

    @Flag(name: .long, help: "Print every command the lab runs.")
    var verbose = false

    @Option(name: .long, help: ArgumentHelp("Remove the lab with this id (left by --keep or a killed run) and exit.", valueName: "id"))
    var teardown: String?

    func validate() throws {
        guard let parsed = LabPlan.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be one of nat, dr, fullnat, tun; got '\(mode)'.")
        }
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1, got \(requests).") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers).") }
        if parsed == .tun && ipv6 {
            throw ValidationError("--mode tun with --ipv6: the real-server helper decapsulates IPv4-in-IPv4 only; use IPv4 for tun.")
        }
        if let weights, LabPlan.parseWeights(weights) == nil {
            throw ValidationError("--weights needs \(LabPlan.realServerCount) comma-separated weights from 0 to 65535 (one per real server, in order), e.g. 3,2,1; got '\(weights)'.")
        }
        for spec in then {
            guard let phase = LabPlan.Phase(spec: spec) else {
                throw ValidationError("--then needs SCHEDULER[:W1,W2,W3][:pSECONDS] with \(LabPlan.realServerCount) weights from 0 to 65535, e.g. wrr:3,2,1 or rr:p300; got '\(spec)'.")
            }
            if let seconds = phase.persistence, !(1...2_678_400).contains(seconds) {
                throw ValidationError("--then '\(spec)': persistence must be between 1 and 2678400 seconds, got \(seconds).")
            }
        }
        if let persistent, !(1...2_678_400).contains(persistent) {
            throw ValidationError("--persistent must be between 1 and 2678400 seconds, got \(persistent).")
        }
        if let transfer, !(1...4096).contains(transfer) {
            throw ValidationError("--transfer must be between 1 and 4096 MiB, got \(transfer).")
        }
        guard scheduler.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw ValidationError("--scheduler must be a scheduler name such as rr, wrr, lc; got '\(scheduler)'.")
        }
    }

    func run() throws {
        let shell = LabShell()
        shell.verbose = verbose
        if let id = teardown {
            guard !id.isEmpty, !id.contains("/") else { throw ValidationError("--teardown needs the lab id (the number in lvsl-<id>-client).") }
            let removed = LabNetwork.teardown(prefix: "lvsl-\(id)-", shell: shell)
            try? FileManager.default.removeItem(atPath: LabRun.workDirectory(id: String(id)))
            print(removed.isEmpty ? "lvsd lab: no namespaces named lvsl-\(id)-*" : "lvsd lab: removed \(removed.joined(separator: " "))")
            return
        }
        guard getuid() == 0 else {
            Console.error("lvsd lab: must run as root (it creates network namespaces); try 'sudo lvsd lab ...'.")
            throw ExitCode(2)
        }
        shell.tag = String(getpid())
        let plan = LabPlan(id: String(getpid()), mode: LabPlan.Mode(rawValue: mode)!, ipv6: ipv6, scheduler: scheduler,
                           weights: weights.flatMap(LabPlan.parseWeights), persistence: persistent, udp: udp)
        let run = LabRun(plan: plan, shell: shell, engine: engine.rawValue, workers: workers,
                         pinNeighbours: pinNeighbours, quiet: json)
        run.installInterruptHandler()
        // A kept lab's lvsd serves its metrics and monitor on the director's loopback (no
        // credentials, so loopback only), reached with ip netns exec.
        if keep { run.metricsListen = "127.0.0.1:9100" }
        let report: LabReport
        do {
            // lvsd is stopped after the last phase (unless kept): at exit it prints its
            // counters and its table in ipvsadm's -L -n layout, which the report shows as
            // lvsd said it.
            report = try run.execute(requests: requests, transferMB: transfer,
                                     then: then.compactMap(LabPlan.Phase.init(spec:)), keep: keep)
        } catch {
            // Interrupted: the failure is the signal handler pulling the lab away; wait for it.
            if run.interrupted {
                run.cleanUp()
                throw ExitCode(130)
            }
            Console.error("lvsd lab: \(error)")
            run.printLogsOnFailure()
            if !keep { run.cleanUp() }
            throw ExitCode.failure
        }
        if json {
            print(report.json)
        } else {
            print("")
            print(report.text)
        }
        if keep {
            run.log("lvsd lab: monitor and metrics at http://127.0.0.1:9100/ inside lvsl-\(plan.id)-director: ip netns exec lvsl-\(plan.id)-director curl -s http://127.0.0.1:9100/metrics")
            run.log("lvsd lab: left running (namespaces \(plan.namespaces.joined(separator: " ")), lvsd log \(run.directory)/lvsd.log); remove it with: \(LabRun.selfPath) lab --teardown \(plan.id)")
            if json { Console.error("lvsd lab: kept; remove with: \(LabRun.selfPath) lab --teardown \(plan.id)") }
        } else {
            run.cleanUp()
        }
        if run.interrupted { throw ExitCode(130) }
        if !report.passed { throw ExitCode.failure }
    }
}
