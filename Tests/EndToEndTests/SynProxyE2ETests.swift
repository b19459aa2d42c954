import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The SYN proxy end to end (Docs/adr/0007): a client's curl through lvsd (NAT, `syn_proxy`
/// from keepalived.conf) to Python HTTP servers in their own namespaces, with the kernel's
/// default offloads. Real Linux stacks on both sides check every translated number: the
/// requests are answered, a 100 MiB download arrives with its sha256, and lvsd counts the
/// cookies it sent.
@Suite(.serialized)
struct SynProxyE2ETests {
    @Test(.enabled(if: getuid() == 0, "SynProxyE2ETests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(3)))
    func curlAndA100MiBDownloadThroughANATSynProxyService() throws {
        let lab = try NamespaceLab(tag: "sp")
        defer { lab.tearDown() }
        let star = try lab.buildStar(realServers: 2)
        let blob = lab.file("blob")
        let dd = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1M", "count=100", "status=none"])
        guard dd.status == 0 else { throw Command.Failed(description: "dd failed: \(dd.stderr)") }
        let digest = Command.sha256(blob.path)
        try lab.startHTTPServers(star, files: [blob])
        let lvsd = try lab.startLVSD(in: star.director, config: """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                syn_proxy
                real_server 198.18.1.2 8080 {
                }
                real_server 198.18.2.2 8080 {
                }
            }
            """, configName: "keepalived.conf", arguments: star.interfaceArguments + ["--duration", "150", "--connections", "65536"]) {
            $0.contains("lvsd: neighbour 198.18.1.2") && $0.contains("lvsd: neighbour 198.18.2.2")
        }

        var answers: [String: Int] = [:]
        var failures: [String] = []
        for i in 0..<10 {
            let (status, out, err) = try lab.run(in: star.client, ["/usr/bin/curl", "-s", "-S", "-m", "5", "http://198.18.0.100/who"])
            if status == 0 { answers[out.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
            else { failures.append("request \(i): curl exited \(status): \(err)") }
        }
        let (status, out, err) = try lab.run(in: star.client, ["/bin/sh", "-c",
            "/usr/bin/curl -s -S -m 120 http://198.18.0.100/blob | /usr/bin/sha256sum"])
        let output = try lab.stopLVSD(lvsd)
        print("SynProxyE2ETests: answers \(answers.sorted { $0.key < $1.key }), failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(failures)")
        #expect(answers == ["real-server-1": 5, "real-server-2": 5], "rr over two servers through the proxy: \(answers)")
        #expect(status == 0, "the download failed: \(err)")
        #expect(out.split(separator: " ").first.map(String.init) == digest, "the 100 MiB download arrived altered")
        #expect(output.contains("syn-proxy-cookies-sent"), "lvsd reports the cookies it sent: \(output)")
    }
}
