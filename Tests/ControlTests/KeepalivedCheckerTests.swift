import Control
import Core
import Testing
import Wire

/// Checker blocks kept as typed values for the health-check engine, with keepalived's
/// defaults (check_api.c `queue_checker`, check_data.c `validate_check_config`) and the
/// virtual server → real server → checker inheritance.
@Suite struct KeepalivedCheckerTests {
    /// The checkers of the only real server of `checkers` inside a virtual server with `vsOptions`.
    func checkers(_ checkers: String, vsOptions: String = "", rsOptions: String = "",
                  sourceLocation: SourceLocation = #_sourceLocation) -> [KeepalivedChecker] {
        let config = keepalived(virtualServer("\(vsOptions)\n    real_server 198.18.1.1 80 {\n\(rsOptions)\n\(checkers)\n    }"),
                                sourceLocation: sourceLocation)
        return config.virtualServers.first?.realServers.first?.checkers ?? []
    }

    @Test func tcpCheckDefaults() {
        #expect(checkers("TCP_CHECK {\n}") == [KeepalivedChecker(
            kind: .tcp, connection: KeepalivedCheckerConnection(connectTimeout: .seconds(5)),
            timing: KeepalivedCheckerTiming(delayLoop: .seconds(60), retry: 1, delayBeforeRetry: .seconds(1), warmup: .seconds(60), alpha: false))])
    }

    @Test func everyCommonOption() {
        let checker = checkers("""
            TCP_CHECK {
                connect_ip 198.18.1.100
                connect_port 8080
                bindto 198.18.0.2
                bind_port 40000
                bind_if eth1
                connect_timeout 2
                fwmark 17
                retry 0
                delay_before_retry 0.5
                warmup 1
                delay_loop 7
                alpha
                log_all_failures yes
            }
            """).first
        #expect(checker == KeepalivedChecker(
            kind: .tcp,
            connection: KeepalivedCheckerConnection(address: ip("198.18.1.100"), port: 8080, bindAddress: ip("198.18.0.2"), bindPort: 40000,
                                                    bindInterface: "eth1", fwmark: 17, connectTimeout: .seconds(2)),
            timing: KeepalivedCheckerTiming(delayLoop: .seconds(7), retry: 0, delayBeforeRetry: .milliseconds(500), warmup: .seconds(1), alpha: true),
            logAllFailures: true))
    }

    @Test func checkersInheritFromTheRealServerThenTheVirtualServer() {
        let list = checkers("TCP_CHECK {\n}\nTCP_CHECK {\n    delay_loop 2\n    connect_timeout 9\n}",
                            vsOptions: "    delay_loop 30\n    connect_timeout 3\n    retry 5\n    alpha",
                            rsOptions: "        delay_before_retry 4\n        warmup 0\n        retry 6")
        #expect(list.map(\.timing) == [
            KeepalivedCheckerTiming(delayLoop: .seconds(30), retry: 6, delayBeforeRetry: .seconds(4), warmup: .zero, alpha: true),
            KeepalivedCheckerTiming(delayLoop: .seconds(2), retry: 6, delayBeforeRetry: .seconds(4), warmup: .zero, alpha: true),
        ])
        #expect(list.map { $0.connection?.connectTimeout } == [.seconds(3), .seconds(9)])
    }

    @Test func kindDefaultsDiffer() {
        let list = checkers("HTTP_GET {\n url {\n path /\n }\n}\nMISC_CHECK {\n misc_path /bin/true\n}\nDNS_CHECK {\n}\nPING_CHECK {\n}",
                            vsOptions: "    delay_loop 20")
        #expect(list.map(\.timing.retry) == [1, 0, 3, 1])
        #expect(list.map(\.timing.delayBeforeRetry) == [.seconds(3), .seconds(1), .seconds(20), .seconds(1)])
        #expect(list.map(\.keyword) == ["HTTP_GET", "MISC_CHECK", "DNS_CHECK", "PING_CHECK"])
        #expect(list[1].connection == nil)
        #expect(list[3].kind == .ping)
    }

    @Test func httpGetWithEveryOption() {
        let list = checkers("""
            HTTP_GET {
                url {
                    path /health?full=1
                    digest AA150255da35870c218c9be8cea310f3
                    status_code 200-299 302 400-404
                    virtualhost health.example.com
                    regex "ok|OK"
                    regex_no_match
                    regex_options caseless multiline
                    regex_min_offset 0
                    regex_max_offset 100
                    regex_stack 1024 4096
                }
                url {
                    path /
                }
                virtualhost www.example.com
                http_protocol 1.0C
                fast_recovery
                sni_name sni.example.com
                nb_get_retry 2
            }
            """)
        guard case .http(let http)? = list.first?.kind else {
            Issue.record("expected an HTTP_GET checker, got \(list)")
            return
        }
        #expect(http == KeepalivedHTTPCheck(
            urls: [
                KeepalivedURL(path: "/health?full=1",
                              digest: [0xAA, 0x15, 0x02, 0x55, 0xDA, 0x35, 0x87, 0x0C, 0x21, 0x8C, 0x9B, 0xE8, 0xCE, 0xA3, 0x10, 0xF3],
                              statusCodes: [200...299, 302...302, 400...404], virtualhost: "health.example.com", regex: "ok|OK",
                              regexNoMatch: true, regexOptions: ["caseless", "multiline"], regexMinOffset: 0, regexMaxOffset: 100,
                              regexStack: 1024...4096),
                KeepalivedURL(path: "/"),
            ],
            virtualhost: "www.example.com", protocolVersion: .http10Close, enableSNI: true, sniName: "sni.example.com", fastRecovery: true))
        #expect(http.urls[0].accepts(status: 302) && http.urls[0].accepts(status: 404) && !http.urls[0].accepts(status: 301))
        #expect(http.urls[1].statusCodes == [200...299])
        #expect(list.first?.timing.retry == 2)
    }

    @Test func httpVirtualhostInheritsFromTheServers() {
        let vsHost = checkers("HTTP_GET {\n url {\n path /\n }\n}", vsOptions: "    virtualhost vs.example.com")
        let rsHost = checkers("SSL_GET {\n url {\n path /\n }\n}", vsOptions: "    virtualhost vs.example.com",
                              rsOptions: "        virtualhost rs.example.com")
        guard case .http(let a)? = vsHost.first?.kind, case .ssl(let b)? = rsHost.first?.kind else {
            Issue.record("expected HTTP_GET and SSL_GET checkers")
            return
        }
        #expect(a.virtualhost == "vs.example.com")
        #expect(b.virtualhost == "rs.example.com")
    }

    @Test func sslGetTakesTLSOptions() {
        let list = checkers("SSL_GET {\n enable_sni\n tls_compliant\n url {\n path /\n tls_compliant\n }\n}")
        guard case .ssl(let ssl)? = list.first?.kind else {
            Issue.record("expected an SSL_GET checker")
            return
        }
        #expect(ssl.enableSNI && ssl.tlsCompliant && ssl.urls[0].tlsCompliant)
        let error = keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        HTTP_GET {\n            tls_compliant\n        }\n    }"))
        #expect(error == kaError(5, 13, "unknown keyword 'tls_compliant' in HTTP_GET (Docs/keepalived-conf.md lists what lvsd reads)"))
    }

    @Test func httpErrors() {
        func error(_ body: String) -> ConfigError? {
            keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        HTTP_GET {\n\(body)\n        }\n    }"))
        }
        #expect(error("") == kaError(4, 9, "HTTP_GET needs at least one url block; write 'url { path / }'"))
        #expect(error("url {\n digest 00\n}") == kaError(6, 9, "digest '00' is not an MD5 digest; give the 32 hex digits genhash prints"))
        #expect(error("url {\n digest aa150255da35870c218c9be8cea310f3\n}") == kaError(5, 1, "url needs a 'path', such as 'path /'"))
        #expect(error("url {\n path /\n status_code 200-99\n}") == kaError(7, 14, "invalid HTTP status code '200-99'; give a code or a range such as 200-299, within 100-599"))
        #expect(error("url {\n path /\n status_code 600\n}") == kaError(7, 14, "invalid HTTP status code '600'; give a code or a range such as 200-299, within 100-599"))
        #expect(error("url {\n path /\n regex_no_match\n}") == kaError(5, 1, "url has regex options but no 'regex PATTERN'"))
        #expect(error("url {\n path /\n regex x\n regex_options bogus\n}") == kaError(8, 16, "unknown regex option 'bogus' (known: \(["allow_empty_class", "alt_bsux", "alt_circumflex", "alt_verbnames", "auto_callout", "caseless", "dollar_endonly", "dotall", "dupnames", "extended", "firstline", "match_unset_backref", "multiline", "never_backslash_c", "never_ucp", "never_utf", "no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy", "use_offset_limit", "utf"].joined(separator: ", ")))"))
        #expect(error("http_protocol 2\nurl {\n path /\n}") == kaError(5, 15, "invalid http_protocol '2'; give 1.0, 1.0C or 1.1"))
    }

    @Test func miscCheck() {
        let list = checkers("""
            MISC_CHECK {
                misc_path "/usr/local/bin/check.sh --port 80 'a b'"
                misc_timeout 5
                misc_dynamic
                user lvs :checkers
                retry 2
            }
            MISC_CHECK {
                misc_path /bin/true
            }
            """, vsOptions: "    delay_loop 15")
        #expect(list.map(\.kind) == [
            .misc(KeepalivedMiscCheck(script: KeepalivedScript(command: "/usr/local/bin/check.sh --port 80 'a b'", user: "lvs", group: ":checkers"),
                                      timeout: .seconds(5), dynamic: true)),
            // misc_timeout left out: the virtual server's delay_loop (check_misc.c).
            .misc(KeepalivedMiscCheck(script: KeepalivedScript(command: "/bin/true"), timeout: .seconds(15))),
        ])
        if case .misc(let misc)? = list.first?.kind {
            #expect(misc.script.arguments == ["/usr/local/bin/check.sh", "--port", "80", "a b"])
        }
        #expect(list.map(\.timing.retry) == [2, 0])
    }

    @Test func miscCheckErrors() {
        func error(_ body: String) -> ConfigError? {
            keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        MISC_CHECK {\n\(body)\n        }\n    }"))
        }
        #expect(error("") == kaError(4, 9, "MISC_CHECK needs 'misc_path \"COMMAND [ARGS]\"'"))
        #expect(error("misc_path /bin/check arg") == kaError(5, 22,
            "unexpected 'arg' after 'misc_path'; write 'misc_path \"COMMAND [ARGS]\"', one option per line"))
        #expect(error("misc_path /bin/true\nconnect_port 80") == kaError(6, 1,
            "unknown keyword 'connect_port' in MISC_CHECK (Docs/keepalived-conf.md lists what lvsd reads)"))
    }

    @Test func udpCheck() {
        let list = checkers("""
            UDP_CHECK {
                payload Ab12f 3 456
                require_reply 01x2 X
                min_reply_length 2
                max_reply_length 512
                connect_port 53
            }
            UDP_CHECK {
            }
            """)
        #expect(list.map(\.kind) == [
            .udp(KeepalivedUDPCheck(payload: [0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06], requireReply: true, replyData: [0x01, 0x02, 0x00],
                                    replyMask: [0x00, 0xF0, 0x0F], minReplyLength: 2, maxReplyLength: 512)),
            .udp(KeepalivedUDPCheck()),
        ])
        #expect(list.first?.connection?.port == 53)
    }

    @Test func udpCheckProblems() {
        let config = keepalived(virtualServer("    real_server 198.18.1.1 80 {\n        UDP_CHECK {\n            min_reply_length 9\n            max_reply_length 3\n        }\n    }"))
        #expect(config.warnings.contains(kaWarning(6, 13, "UDP_CHECK min_reply_length 9 is above max_reply_length 3; the check will always fail")))
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        UDP_CHECK {\n            payload 12 zz\n        }\n    }")) ==
            kaError(5, 24, "'z' is not a hex digit in the UDP_CHECK payload"))
    }

    @Test func dnsCheck() {
        let list = checkers("DNS_CHECK {\n    type aaaa\n    name www.example.com\n}\nDNS_CHECK {\n}")
        #expect(list.map(\.kind) == [.dns(KeepalivedDNSCheck(type: "AAAA", name: "www.example.com")), .dns(KeepalivedDNSCheck(type: "SOA", name: "."))])
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        DNS_CHECK {\n            name a..b\n        }\n    }")) ==
            kaError(5, 18, "DNS_CHECK name 'a..b' has an empty label"))
    }

    @Test func smtpCheckBfdRefusedFileKept() {
        let list = checkers("SMTP_CHECK {\n    helo_name lb.example.com\n    connect_port 2525\n}\nSMTP_CHECK {\n}")
        #expect(list.map(\.kind) == [.smtp(KeepalivedSMTPCheck(heloName: "lb.example.com")), .smtp(KeepalivedSMTPCheck())])
        #expect(list.first?.connection?.port == 2525)
        // keepalived's deprecated host sub-blocks: one SMTP_CHECK each, with the block's other settings.
        let hosts = checkers("SMTP_CHECK {\n    retry 2\n    helo_name mx.example.test\n    host {\n        connect_ip 198.18.5.1\n    }\n"
                             + "    host {\n        connect_ip 198.18.5.2\n        connect_port 587\n        bindto 198.18.0.2\n    }\n}")
        #expect(hosts.map(\.kind) == Array(repeating: .smtp(KeepalivedSMTPCheck(heloName: "mx.example.test")), count: 2))
        #expect(hosts.map { $0.connection?.address } == [IPAddress("198.18.5.1"), IPAddress("198.18.5.2")])
        #expect(hosts.map { $0.connection?.port } == [nil, 587] && hosts[1].connection?.bindAddress == IPAddress("198.18.0.2"))
        #expect(hosts.allSatisfy { $0.timing.retry == 2 })
        // With its own connect_ip the checker runs too.
        #expect(checkers("SMTP_CHECK {\n    connect_ip 198.18.5.9\n    host {\n        connect_ip 198.18.5.1\n    }\n}").count == 2)
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 25 {\n        SMTP_CHECK {\n            host {\n                helo_name x\n            }\n        }\n    }"))?
                    .description.contains("unknown keyword 'helo_name' in host") == true)
        // BFD_CHECK: refused where it is written.
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        BFD_CHECK {\n        }\n    }")) ==
            kaError(4, 9, "BFD_CHECK is not supported: lvsd runs no BFD sessions (keepalived's bfd_instance); check the real server with TCP_CHECK, PING_CHECK or HTTP_GET instead"))
        let config = keepalived(virtualServer("    real_server 198.18.1.1 25 {\n        FILE_CHECK {\n            track_file f\n        }\n    }"))
        guard case .other(let statement)? = config.virtualServers.first?.realServers.first?.checkers.first?.kind else {
            Issue.record("expected a kept FILE_CHECK")
            return
        }
        #expect(outline([statement]) == "FILE_CHECK { track_file f }")
    }

    @Test func checkTargetsResolveDestinationsPerService() {
        let config = keepalived("""
            virtual_server_group g {
                198.18.0.10 80
                198.18.0.11 81
            }
            virtual_server group g {
                protocol TCP
                lb_kind DR
                real_server 198.18.1.1 {
                    TCP_CHECK {
                    }
                    HTTP_GET {
                        connect_ip 198.18.1.100
                        connect_port 8080
                        url {
                            path /
                        }
                    }
                }
            }
            """)
        #expect(config.checkers.map(\.service) == [tcp("198.18.0.10", 80), tcp("198.18.0.10", 80), tcp("198.18.0.11", 81), tcp("198.18.0.11", 81)])
        #expect(config.checkers.map(\.destination) == [Endpoint(ip("198.18.1.1"), 80), Endpoint(ip("198.18.1.100"), 8080),
                                                       Endpoint(ip("198.18.1.1"), 81), Endpoint(ip("198.18.1.100"), 8080)])
        #expect(config.checkers.map(\.realServer) == [Endpoint(ip("198.18.1.1"), 80), Endpoint(ip("198.18.1.1"), 80),
                                                      Endpoint(ip("198.18.1.1"), 81), Endpoint(ip("198.18.1.1"), 81)])
    }

    @Test func connectAndBindFamiliesMustMatch() {
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        TCP_CHECK {\n            connect_ip 198.18.1.2\n            bindto 2001:db8::1\n        }\n    }")) ==
            kaError(6, 20, "bindto 2001:db8::1 and connect_ip 198.18.1.2 are of different address families"))
    }
}

/// The script command lines of notify and MISC_CHECK, split as keepalived's
/// `alloc_strvec_quoted_escaped` splits them.
@Suite struct KeepalivedScriptTests {
    @Test func splitsOnSpacesAndKeepsQuotedSpaces() {
        #expect(KeepalivedScript.split("/bin/check --host 'a b' \"c d\" e\\ f") == ["/bin/check", "--host", "a b", "c d", "e f"])
    }

    @Test func escapes() {
        // keepalived.conf(5): ' spaces\x20f\x69le ' is " spaces file ".
        #expect(KeepalivedScript.split("x ' spaces\\x20f\\x69le ' \\n\\t \\101 \\cA") == ["x", " spaces file ", "\n\t", "A", "\u{01}"])
        #expect(KeepalivedScript.split("'\\\"s p a c e \\\"'") == ["\"s p a c e \""])
        // An escaped quote is a character; it neither opens nor closes a quoted string.
        #expect(KeepalivedScript.split("/bin/x \\\"web 1\\\"") == ["/bin/x", "\"web", "1\""])
    }

    @Test func emptyQuotesAreAnEmptyWord() {
        #expect(KeepalivedScript.split("a '' b") == ["a", "", "b"])
        #expect(KeepalivedScript.split("   ").isEmpty)
    }
}
