import Wire

/// How a TUN (`-i`) real server's packets are wrapped: ipvsadm's `--tun-type`, `--tun-port`
/// and `--tun-nocsum|--tun-csum|--tun-remcsum` (IPVS's `tun_type`, `tun_port`, `tun_flags`,
/// include/uapi/linux/ip_vs.h). The outer header's family is always the real server's
/// (ip_vs_xmit.c binds `ip_vs_tunnel_xmit` or `_v6` by the destination's family).
public struct TunnelSettings: Hashable, Sendable, Codable {
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
        /// IP in IP (RFC 2003) or IPv6 in IP (RFC 2473, RFC 4213): the outer header alone.
        case ipip
        /// Generic UDP Encapsulation (draft-ietf-intarea-gue): UDP to `port`, then a GUE header.
        case gue
        /// Generic Routing Encapsulation (RFC 2784), with or without its checksum.
        case gre

        /// ipvsadm's word for it (`--tun-type ipip|gue|gre`).
        public var description: String {
            switch self {
            case .ipip: "ipip"
            case .gue: "gue"
            case .gre: "gre"
            }
        }

        public init?(name: String) {
            guard let kind = Self.allCases.first(where: { $0.description == name }) else { return nil }
            self = kind
        }
    }

    /// `IP_VS_TUNNEL_ENCAP_FLAG_*`: one of three, as ipvsadm sets them.
    public enum Checksum: UInt8, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
        /// `--tun-nocsum`: GUE's UDP checksum is zero, GRE carries none (the default).
        case none
        /// `--tun-csum`: GUE's UDP checksum, or GRE's checksum (RFC 2784 §2.2), is computed.
        case checksum
        /// `--tun-remcsum`: GUE remote checksum offload (draft-herbert-remotecsumoffload): a
        /// frame whose L4 checksum is still partial keeps it so, and its GUE header says where
        /// the real server completes it; the UDP checksum is computed.
        case remote

        /// ipvsadm's option for it.
        public var description: String {
            switch self {
            case .none: "nocsum"
            case .checksum: "csum"
            case .remote: "remcsum"
            }
        }
    }

    public var kind: Kind
    /// GUE's UDP destination port (ipvsadm requires one for GUE); 0 for IPIP and GRE.
    public var port: UInt16
    public var checksum: Checksum

    public init(kind: Kind = .ipip, port: UInt16 = 0, checksum: Checksum = .none) {
        self.kind = kind
        self.port = port
        self.checksum = checksum
    }

    public static let ipip = TunnelSettings()

    /// Bytes the encapsulation adds between the outer IP header and the inner datagram, for
    /// a frame without GUE's remote checksum offload option.
    @inlinable public var encapsulationLength: Int {
        switch kind {
        case .ipip: 0
        case .gue: UDPDatagram.headerLength + GUEHeader.baseLength
        case .gre: GREHeader.length(checksum: checksum == .checksum)
        }
    }

    /// Whether a frame gets GUE's remote checksum offload option: with `--tun-remcsum`, when
    /// its L4 checksum is still partial (`ipvs_gue_encap` tests `CHECKSUM_PARTIAL`; any other
    /// frame gets a plain GUE header and a full checksum).
    @inlinable public func offloadsChecksum(partial: Bool) -> Bool {
        partial && kind == .gue && checksum == .remote
    }

    /// Bytes the encapsulation adds for a frame, the remote checksum offload option included
    /// when it gets one (`__ip_vs_get_out_rt`'s MTU reduction).
    @inlinable public func encapsulationLength(checksumOffloaded: Bool) -> Int {
        encapsulationLength + (checksumOffloaded ? GUEHeader.remoteChecksumOptionLength : 0)
    }

    /// What is wrong with these settings for a tunnelling real server, as a sentence; nil
    /// when lvsd can forward with them.
    public var problem: String? {
        if checksum == .remote && kind != .gue {
            return "--tun-remcsum (GUE remote checksum offload) applies to GUE tunnels only; drop it or give --tun-type gue"
        }
        switch kind {
        case .ipip:
            if port != 0 { return "--tun-port applies to GUE tunnels only; drop it or add --tun-type gue" }
            if checksum != .none { return "--tun-\(checksum) applies to GUE and GRE tunnels only; drop it or give --tun-type gue or gre" }
        case .gue:
            if port == 0 { return "a GUE tunnel needs the real server's GUE port: add --tun-port PORT" }
        case .gre:
            if port != 0 { return "--tun-port applies to GUE tunnels only; GRE has no port" }
        }
        return nil
    }
}
