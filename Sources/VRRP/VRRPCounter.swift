import Wire

/// The named counters of one instance (keepalived's `vrrp_stats`, RFC 6527's MIB names in
/// spirit). Every advert refused is counted under exactly one of the `bad` ones and changes
/// nothing else.
public enum VRRPCounter: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case advertsReceived = "adverts_received"
    case advertsSent = "adverts_sent"
    case becameMaster = "became_master"
    case releasedMaster = "released_master"
    case priorityZeroReceived = "priority_zero_received"
    case priorityZeroSent = "priority_zero_sent"
    /// Lower-priority adverts accepted because this backup's sync table is still being
    /// relearned (`VRRPInstanceConfig.syncRelearnPeriod`).
    case preemptionDeferredForSync = "preemption_deferred_for_sync"
    // Refused by the bytes (VRRPError).
    case truncated
    case badVersion = "bad_version"
    case badType = "bad_type"
    case badChecksum = "bad_checksum"
    case badLength = "bad_length"
    case addressCountMismatch = "address_count_mismatch"
    // Refused by this instance's configuration (vrrp.c `vrrp_check_packet`).
    /// A version other than the instance's.
    case wrongVersion = "wrong_version"
    /// TTL / hop limit ≠ 255 on a multicast instance (RFC 5798 §7.1).
    case ttlError = "ttl_error"
    /// v2 auth type other than the instance's.
    case authTypeMismatch = "auth_type_mismatch"
    /// v2 PASS data other than the instance's password.
    case authFailure = "auth_failure"
    /// v2 advert interval other than the instance's (RFC 3768 §7.1 MUST discard).
    case intervalMismatch = "interval_mismatch"
    /// A count of addresses other than the instance's.
    case addressListMismatch = "address_list_mismatch"

    public var description: String { rawValue }

    /// The counter of a refusal by the bytes.
    public init(_ error: VRRPError) {
        switch error {
        case .truncated: self = .truncated
        case .badVersion: self = .badVersion
        case .badType: self = .badType
        case .badChecksum: self = .badChecksum
        case .badLength: self = .badLength
        case .addressCountMismatch: self = .addressCountMismatch
        }
    }
}

/// A value per `VRRPCounter`.
public struct VRRPCounters: Hashable, Sendable {
    private var values: [VRRPCounter: UInt64] = [:]

    public init() {}

    public subscript(_ counter: VRRPCounter) -> UInt64 {
        get { values[counter, default: 0] }
        set { values[counter] = newValue }
    }

    mutating func count(_ counter: VRRPCounter) { values[counter, default: 0] += 1 }

    /// The sum of every refusal counter: what "bad adverts" means in a listing.
    public var refused: UInt64 {
        let good: Set<VRRPCounter> = [.advertsReceived, .advertsSent, .becameMaster, .releasedMaster,
                                      .priorityZeroReceived, .priorityZeroSent, .preemptionDeferredForSync]
        return values.filter { !good.contains($0.key) }.values.reduce(0, +)
    }

    /// The counters that are not zero, in declaration order.
    public var nonZero: [(VRRPCounter, UInt64)] {
        VRRPCounter.allCases.compactMap { c in values[c].flatMap { $0 > 0 ? (c, $0) : nil } }
    }
}
