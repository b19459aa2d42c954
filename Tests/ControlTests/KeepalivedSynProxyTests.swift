import Control
import Core
import Testing
import Wire

/// DPVS's `syn_proxy` in a `virtual_server` block: switched per service, refused where the
/// director cannot translate (UDP, DR and TUN real servers) with a sentence at the keyword.
@Suite struct KeepalivedSynProxyTests {
    @Test func synProxyReachesTheServiceAndIsOffByDefault() {
        let on = keepalived(virtualServer("""
                lb_kind NAT
                syn_proxy
                real_server 198.18.1.1 8080 {
                }
            """))
        #expect(onlyVirtualServer(on).synProxy)
        #expect(on.director.services.map(\.synProxy) == [true])
        #expect(messages(on).allSatisfy { !$0.contains("syn_proxy") })

        let off = keepalived(virtualServer("""
                lb_kind FNAT
                real_server 198.18.1.1 8080 {
                }
            """))
        #expect(off.director.services.map(\.synProxy) == [false])
        let explicitOff = keepalived(virtualServer("""
                syn_proxy off
                real_server 198.18.1.1 8080 {
                }
            """))
        #expect(explicitOff.director.services.map(\.synProxy) == [false])
    }

    @Test func directRoutingTunnelAndUDPAreRefusedWithASentence() {
        #expect(keepalivedError(virtualServer("""
                lb_kind DR
                syn_proxy
                real_server 198.18.1.1 80 {
                }
            """)) == kaError(4, 5, "syn_proxy needs NAT or FNAT real servers: real server 198.18.1.1 uses DR, whose replies bypass the director, so their sequence numbers could not be translated"))
        #expect(keepalivedError(virtualServer("""
                syn_proxy
                real_server 198.18.1.1 80 {
                    lvs_method TUN
                }
            """)) == kaError(3, 5, "syn_proxy needs NAT or FNAT real servers: real server 198.18.1.1 uses TUN, whose replies bypass the director, so their sequence numbers could not be translated"))
        #expect(keepalivedError("""
            virtual_server 198.18.0.10 53 {
                protocol UDP
                syn_proxy
                real_server 198.18.1.1 53 {
                }
            }
            """) == kaError(3, 5, "syn_proxy answers TCP handshakes; this virtual server is UDP"))
    }
}
