import Control
import Testing

/// keepalived.conf's `lvsd_director` lines for the exporters.
@Suite struct KeepalivedMonitorTests {
    @Test func linesAreRead() throws {
        let config = try KeepalivedFile.parse("""
            lvsd_director {
                interface eth0 mac 02:00:00:00:00:01 address 198.18.0.1
                metrics_listen 198.18.0.1:9100
                monitor_users /etc/lvsd/users
                monitor_token_file /etc/lvsd/token
                metrics_tls_cert /etc/lvsd/monitor.pem
                metrics_tls_key /etc/lvsd/monitor.key
                ipvs_procfs /run/lvsd/procfs
            }
            """, file: "keepalived.conf")
        #expect(config.monitor.metricsListen == ListenAddress("198.18.0.1:9100"))
        #expect(config.monitor.metricsListen?.description == "198.18.0.1:9100")
        #expect(config.monitor.usersFile == "/etc/lvsd/users")
        #expect(config.monitor.tokenFile == "/etc/lvsd/token")
        #expect(config.monitor.tlsCertificateFile == "/etc/lvsd/monitor.pem")
        #expect(config.monitor.tlsKeyFile == "/etc/lvsd/monitor.key")
        #expect(config.monitor.ipvsProcfs == "/run/lvsd/procfs")
        #expect(config.director.interfaces.count == 1)
    }

    @Test func badAddressNamesLineAndColumn() {
        #expect {
            _ = try KeepalivedFile.parse("lvsd_director {\n    metrics_listen 198.18.0.1\n}\n", file: "keepalived.conf")
        } throws: { error in
            "\(error)".hasPrefix("keepalived.conf:2:20: error: '198.18.0.1' is not ADDRESS:PORT")
        }
    }

    @Test func ipv6Listen() {
        #expect(ListenAddress("[2001:db8::1]:9100")?.host == "2001:db8::1")
        #expect(ListenAddress("[2001:db8::1]:9100")?.description == "[2001:db8::1]:9100")
        #expect(ListenAddress("host name:80") == nil)
    }
}
