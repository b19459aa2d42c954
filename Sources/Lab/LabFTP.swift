import Foundation

/// Seed 003's FTP service (TurboLinux Cluster Server served "Web and FTP"): vsftpd on every
/// real server, a persistent port-0 DR service beside the web service so an FTP control
/// connection and its data connections reach the same server (Docs/ftp.md, "DR and TUN"),
/// and the client fetching one file passive and active through the director.
extension LabPlan {
    /// The FTP service's ipvsadm lines: all the VIP's other ports (21 and the passive data
    /// ports), persistent as the seed's services are.
    var ftpRules: [String] {
        let service = "\(vip):0"
        var lines = ["-A -t \(service) -s \(scheduler) -p \(persistence ?? 300)"]
        for rs in realServers { lines.append("-a -t \(service) -r \(rs.address):0 \(mode.methodFlag) -w 1") }
        return lines
    }
}

/// What the client saw fetching the FTP file through the director.
struct LabFTPFetch {
    var mode: String
    var status: Int32
    var matched: Bool
    var detail: String
}

extension LabRun {
    static let vsftpd = "/usr/sbin/vsftpd"
    static let ftpFile = "ftp.bin"

    /// vsftpd in every real server, anonymous read of the same file; nothing when the plan
    /// has no FTP service.
    func startFTPServers() throws {
        guard plan.ftp else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.vsftpd) else {
            log("  FTP: \(Self.vsftpd) is not installed (bash Scripts/install-deps.sh); the FTP checks will fail")
            return
        }
        var bytes = [UInt8](repeating: 0, count: 262_144)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        let file = "\(directory)/\(Self.ftpFile)"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        try FileManager.default.createDirectory(atPath: "/var/run/vsftpd/empty", withIntermediateDirectories: true)
        for rs in plan.realServers {
            let root = "\(directory)/\(rs.name)-ftp"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: root)
            try FileManager.default.linkItem(atPath: file, toPath: "\(root)/\(Self.ftpFile)")
            let conf = "\(directory)/\(rs.name)-vsftpd.conf"
            try """
                listen=YES
                listen_ipv6=NO
                background=NO
                anonymous_enable=YES
                no_anon_password=YES
                anon_root=\(root)
                local_enable=NO
                write_enable=NO
                connect_from_port_20=YES
                pasv_min_port=50000
                pasv_max_port=50999
                isolate=NO
                isolate_network=NO
                seccomp_sandbox=NO
                secure_chroot_dir=/var/run/vsftpd/empty

                """.write(toFile: conf, atomically: true, encoding: .utf8)
            _ = try shell.start(in: rs.namespace, [Self.vsftpd, conf], log: "\(directory)/\(rs.name)-vsftpd.log")
        }
        for rs in plan.realServers {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                let probe = try shell.run(in: rs.namespace, ["curl", "-s", "-m", "2", "-o", "/dev/null", "ftp://\(rs.address)/"], check: false)
                if probe.status == 0 { break }
                usleep(100_000)
            }
        }
        log("  FTP: vsftpd on every real server, \(Self.ftpFile) of \(bytes.count) bytes")
    }

    /// The client fetches the FTP file through the VIP passive and active; each fetch's bytes
    /// are compared with the file.
    func fetchFTP() throws -> [LabFTPFetch] {
        guard plan.ftp else { return [] }
        let expected = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(Self.ftpFile)"))
        var fetches: [LabFTPFetch] = []
        for (mode, flags) in [("passive", [String]()), ("active", ["-P", "-"])] {
            let out = "\(directory)/ftp-\(mode).bin"
            let result = try shell.run(in: plan.client, ["curl", "-sS", "--max-time", "20"] + flags
                                       + ["-o", out, "ftp://\(plan.vip)/\(Self.ftpFile)"], check: false)
            let got = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
            let matched = result.status == 0 && got == expected
            fetches.append(LabFTPFetch(mode: mode, status: result.status, matched: matched,
                                       detail: matched ? "\(got.count) bytes, identical to the real servers' file"
                                           : "curl exited \(result.status), \(got.count) of \(expected.count) bytes: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))"))
        }
        log("  FTP: " + fetches.map { "\($0.mode) \($0.matched ? "ok" : "failed")" }.joined(separator: ", "))
        return fetches
    }
}

extension LabExercise {
    /// The seed's FTP checks: one per fetch.
    func ftpChecks(_ fetches: [LabFTPFetch]) -> [LabCheck] {
        fetches.map { f in
            LabCheck(what: "curl ftp://\(plan.vip)/\(LabRun.ftpFile) (\(f.mode) mode) fetches the file through the director",
                     held: f.matched, detail: f.detail)
        }
    }
}
