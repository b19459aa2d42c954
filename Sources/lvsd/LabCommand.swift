import ArgumentParser
import Dispatch
import Foundation
import Lab
import VRRPRuntime
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
            if any request failed. With --keep the lab stays up; 'lvsd lab --teardown <id>' removes it. \
            --seed 000-nat, 000-dr, 002 (two directors with VRRP) or 003 rebuilds a seed's hand-made \
            lab and checks what its author checked; --break arp, gateway, vip-on-lo or tun-vip leaves one step out, shows the failure and \
            the fix; both end with a 'verdict:' line and exit non-zero when it fails (Docs/learn/).
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

    @Flag(name: .long, help: "Issue 14's pair instead: two lvsd directors with VRRP and connection sync (keepalived.conf), DR, a download through the VIP; kills the master mid-download and shows the takeover and the sha256 of what arrived. Takes --transfer (MiB, default 64).")
    var ha = false

    @Flag(name: .long, help: "With --ha: print seed 002's two directors' VRRP exchange on a virtual clock (adverts with their bytes, the master stopping by SIGTERM and by SIGKILL, the takeover, the gratuitous ARPs); needs no root (Docs/learn/ha.md).")
    var timeline = false

    @Flag(name: .long, help: "Leave the lab running after the requests; prints the command that removes it.")
    var keep = false

    @Flag(name: .long, help: "Print one JSON object instead of the tables.")
    var json = false

    @Flag(name: .long, help: "Print every command the lab runs.")
    var verbose = false

    @Option(name: .long, help: ArgumentHelp("Rebuild a seed's lab and check what its author checked by hand: 000-nat, 000-dr, 002 or 003 (Docs/learn/).", valueName: "seed"))
    var seed: String?

    @Option(name: .customLong("break"), help: ArgumentHelp("An exercise: build the lab with one step left out (arp, gateway, vip-on-lo or tun-vip), show the failure and lvsd's counters, then the fix.", valueName: "step"))
    var breakStep: String?

    @Flag(name: .long, help: "With --seed or --break: explain each stage before it runs, waiting for Enter when standard input is a terminal.")
    var step = false

    @Option(name: .long, help: .hidden)
    var namespacePrefix = "lvsl"

    @Option(name: .long, help: ArgumentHelp("Remove the lab with this id (left by --keep or a killed run) and exit.", valueName: "id"))
    var teardown: String?

    func validate() throws {
        guard let parsed = LabPlan.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be one of nat, dr, fullnat, tun; got '\(mode)'.")
        }
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1, got \(requests).") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers).") }
        if parsed == .tun && ipv6 {
            throw ValidationError("--mode tun with --ipv6: the lab builds its TUN topology over IPv4 only (IPv6 tunnels are proven by TunnelTypesE2ETests); use IPv4 for tun.")
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
        if seed != nil && breakStep != nil { throw ValidationError("--seed and --break are separate labs; give one.") }
        if timeline && !ha { throw ValidationError("--timeline goes with --ha.") }
        if ha && (seed != nil || breakStep != nil) { throw ValidationError("--ha is its own lab; leave out --seed and --break.") }
        if let seed, seed != Self.twoDirectorSeed, LabScenario(seed: seed) == nil {
            let one = LabScenario.Seed.allCases.map(\.rawValue)
            let all = one.filter { $0 < Self.twoDirectorSeed } + [Self.twoDirectorSeed] + one.filter { $0 > Self.twoDirectorSeed }
            throw ValidationError("--seed must be one of \(all.joined(separator: ", ")); got '\(seed)'.")
        }
        if seed == Self.twoDirectorSeed && step { throw ValidationError("--step is not available for --seed 002 (two directors); run it without.") }
        if let breakStep, LabScenario(break: breakStep) == nil {
            throw ValidationError("--break must be one of \(LabScenario.Break.allCases.map(\.rawValue).joined(separator: ", ")); got '\(breakStep)'.")
        }
        if step && seed == nil && breakStep == nil { throw ValidationError("--step goes with --seed or --break.") }
        if seed != nil || breakStep != nil {
            let own = [("--mode", mode != "nat"), ("--ipv6", ipv6), ("--then", !then.isEmpty), ("--udp", udp), ("--transfer", transfer != nil),
                       ("--persistent", persistent != nil), ("--weights", weights != nil), ("--scheduler", scheduler != "rr"),
                       ("--workers", workers != 1), ("--keep", keep), ("--json", json)].filter(\.1).map(\.0)
            if !own.isEmpty {
                throw ValidationError("--seed and --break build their own lab; leave out \(own.joined(separator: ", ")).")
            }
        }
        guard !namespacePrefix.isEmpty, namespacePrefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw ValidationError("--namespace-prefix takes letters, digits and '-'; got '\(namespacePrefix)'.")
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
            let removed = LabNetwork.teardown(prefix: "\(namespacePrefix)-\(id)-", id: id, shell: shell)
            try? FileManager.default.removeItem(atPath: LabRun.workDirectory(id: String(id)))
            print(removed.isEmpty ? "lvsd lab: no namespaces named lvsl-\(id)-*" : "lvsd lab: removed \(removed.joined(separator: " "))")
            return
        }
        if timeline {
            printTimeline()
            return
        }
        guard getuid() == 0 else {
            Console.error("lvsd lab: must run as root (it creates network namespaces); try 'sudo lvsd lab ...'.")
            throw ExitCode(2)
        }
        shell.tag = String(getpid())
        if ha { return try runHA(shell) }
        if seed == Self.twoDirectorSeed { return try runSeed002(shell) }
        if let scenario = seed.flatMap(LabScenario.init(seed:)) ?? breakStep.flatMap(LabScenario.init(break:)) {
            try runScenario(scenario, shell: shell)
            return
        }
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

    /// `--seed` and `--break`: the lab with its checks and verdict line (Sources/Lab/LabExercise.swift).
    private func runScenario(_ scenario: LabScenario, shell: LabShell) throws {
        let exercise = LabExercise(scenario: scenario, id: String(getpid()), shell: shell, engine: engine.rawValue,
                                   namespacePrefix: namespacePrefix, step: step)
        exercise.run.installInterruptHandler()
        let passed: Bool
        do {
            passed = try exercise.execute()
        } catch {
            if exercise.run.interrupted {
                exercise.run.cleanUp()
                throw ExitCode(130)
            }
            Console.error("lvsd lab: \(error)")
            exercise.run.printLogsOnFailure()
            exercise.run.cleanUp()
            print("verdict: \(scenario.name) FAILED: the lab did not complete: \(error)")
            throw ExitCode.failure
        }
        exercise.run.cleanUp()
        if exercise.run.interrupted { throw ExitCode(130) }
        if !passed { throw ExitCode.failure }
    }
}

extension LabCommand {
    /// Seed 002 runs two directors (Sources/Lab/LabSeed002.swift), not the one-director LabExercise.
    static let twoDirectorSeed = "002"

    /// `--seed 002`: LabSeed002Run, namespaces `<prefix>-<pid>-ha-*`, removed at the end.
    func runSeed002(_ shell: LabShell) throws {
        let run = LabSeed002Run(shell: shell, prefix: "\(namespacePrefix)-\(getpid())-ha-")
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            run.cleanUp()
            Glibc.exit(130)
        }
        source.resume()
        defer { run.cleanUp() }
        let passed: Bool
        do {
            passed = try run.execute()
        } catch {
            Console.error("lvsd lab --seed 002: \(error)")
            print("verdict: seed 002 FAILED: the lab did not complete: \(error)")
            throw ExitCode.failure
        }
        if !passed { throw ExitCode.failure }
    }

    /// `--ha --timeline`: VRRPTimeline's two runs, the master stopped by SIGTERM then by SIGKILL.
    func printTimeline() {
        print("Seed 002's pair on a virtual clock: Dserver1 198.18.0.134 (state MASTER, priority 100) and Dserver2 198.18.0.137")
        print("(state BACKUP, priority 90), vrrp_instance LVS: VRID 51, advert_int 1, auth PASS 1111, VIP 198.18.0.133.")
        for stop in VRRPTimeline.Stop.allCases {
            print("")
            print(stop == .shutdown ? "Dserver1 stopped at 8 s (SIGTERM):" : "Dserver1 killed at 8 s (SIGKILL):")
            for line in VRRPTimeline.run(stop: stop) { print(line) }
        }
    }

    /// `--ha`: LabHARun, namespaces `lvsl-<pid>-ha-*` (or `$LVSD_LAB_PREFIX`), removed at the end.
    func runHA(_ shell: LabShell) throws {
        let prefix = ProcessInfo.processInfo.environment["LVSD_LAB_PREFIX"] ?? "lvsl-\(getpid())-ha-"
        let run = LabHARun(shell: shell, prefix: prefix, transferMiB: transfer ?? 64)
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            run.cleanUp()
            Glibc.exit(130)
        }
        source.resume()
        defer { run.cleanUp() }
        do {
            let report = try run.execute()
            if !report.passed { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Console.error("lvsd lab --ha: \(error)")
            throw ExitCode.failure
        }
    }
}
