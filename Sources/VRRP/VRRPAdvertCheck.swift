import Wire

/// The checks an advertisement that passed `VRRPAdvertisement`'s byte checks must still pass
/// for one instance, in vrrp.c `vrrp_check_packet`'s order; the first that fails names the
/// counter and the advert is dropped without any other effect.
///
/// | check | RFC | keepalived |
/// | --- | --- | --- |
/// | TTL / hop limit 255, multicast only | 5798 §7.1, 3768 §7.1 | same (unicast peers may be routed) |
/// | version is the instance's | 5798 §7.1 | same |
/// | v2 auth type is the instance's | 3768 §7.1 (2338 §5.3.6) | same |
/// | v2 PASS data is the password | 2338 §5.3.6.1 | same |
/// | v2 interval is the instance's | 3768 §7.1 MUST discard | same, dropped |
/// | address count is the instance's | 5798 §7.1 MAY | counted and accepted; lvsd drops, as issue 14 asks |
///
/// A v3 interval that differs is accepted: the backup adopts the master's (RFC 5798 §6.4.2).
enum VRRPAdvertCheck {
    static func refusal(_ advert: VRRPReceivedAdvert, for config: VRRPInstanceConfig) -> VRRPCounter? {
        if !config.isUnicast && advert.ttl != VRRPAdvertisement.ttl { return .ttlError }
        if advert.version != config.version { return .wrongVersion }
        if config.version == .v2 {
            if advert.authType != config.authentication.type { return .authTypeMismatch }
            if advert.authType == .simpleText && advert.authData != config.authentication.data { return .authFailure }
            if advert.intervalCentiseconds / 100 != config.advertisementInterval / 100 { return .intervalMismatch }
        }
        if advert.addresses.count != config.virtualAddresses.count { return .addressListMismatch }
        return nil
    }
}
