import Wire

/// One `vrrp_instance`, as keepalived reads it (keepalived/vrrp/vrrp_parser.c and the checks
/// of vrrp.c `vrrp_complete_instance`), already validated: what the state machine runs.
public struct VRRPInstanceConfig: Hashable, Sendable {
    /// The instance's name (`vrrp_instance NAME`), passed to `notify` scripts.
    public var name: String
    /// `state MASTER|BACKUP`: what the instance wants at start. Only an address owner starts
    /// as MASTER at once; any other starts as BACKUP and waits Master_Down_Interval.
    public var initialState: VRRPInitialState
    /// `interface`: where adverts go and come from; its link state is tracked unless
    /// `dontTrackPrimary`. nil for a unicast instance bound by `unicast_src_ip` only.
    public var interface: String?
    public var dontTrackPrimary: Bool
    /// `virtual_router_id`, 1...255.
    public var virtualRouterID: UInt8
    /// `priority`, 1...255; 255 is the address owner (RFC 5798 §5.2.4).
    public var priority: UInt8
    /// `advert_int` in centiseconds (v2 sends whole seconds).
    public var advertisementInterval: UInt16
    public var version: VRRPVersion
    /// v2 `authentication { auth_type PASS auth_pass X }`: the eight authentication bytes.
    public var authentication: VRRPAuthentication
    /// `virtual_ipaddress`: the addresses the master owns and advertises.
    public var virtualAddresses: [VRRPVirtualAddress]
    /// `virtual_ipaddress_excluded`: owned by the master but not advertised.
    public var excludedAddresses: [VRRPVirtualAddress]
    /// `nopreempt`: a higher-priority backup does not take over from a running master.
    public var noPreempt: Bool
    /// `preempt_delay` in nanoseconds: how long lower-priority adverts are still accepted
    /// before this (higher-priority) backup preempts.
    public var preemptDelay: UInt64
    /// Nanoseconds a BACKUP keeps accepting lower-priority adverts after it became BACKUP,
    /// because connection sync (`lvs_sync_daemon` naming this instance) is relearning the
    /// current master's table meanwhile; 0: no such hold. A master that goes silent or says
    /// priority 0 is taken over at once all the same: its table is what was learned.
    /// Docs/connection-sync.md, "Failback".
    public var syncRelearnPeriod: UInt64
    /// `unicast_src_ip` (or `mcast_src_ip`): the address adverts are sent from, and this
    /// router's primary address in elections. nil: the interface's.
    public var sourceAddress: IPAddress?
    /// `unicast_peer { }`: adverts go to these instead of the multicast group.
    public var unicastPeers: [IPAddress]
    public var gratuitous: VRRPGratuitousSettings
    /// `track_interface`: weight 0 puts the instance in FAULT while the interface is down.
    public var trackedInterfaces: [VRRPTrackedObject]
    /// `track_script`: by `vrrp_script` name; a weight given here overrides the script's.
    public var trackedScripts: [VRRPTrackedObject]
    public var notify: VRRPNotifyScripts
    /// keepalived's `down_timer_adverts`: adverts missed before the master is declared down
    /// (RFC 5798 §6.1 fixes it at 3).
    public var downTimerAdverts: UInt64

    public init(name: String, initialState: VRRPInitialState = .backup, interface: String? = nil,
                dontTrackPrimary: Bool = false, virtualRouterID: UInt8, priority: UInt8 = 100,
                advertisementInterval: UInt16 = 100, version: VRRPVersion = .v2,
                authentication: VRRPAuthentication = .none, virtualAddresses: [VRRPVirtualAddress] = [],
                excludedAddresses: [VRRPVirtualAddress] = [], noPreempt: Bool = false, preemptDelay: UInt64 = 0,
                sourceAddress: IPAddress? = nil, unicastPeers: [IPAddress] = [],
                gratuitous: VRRPGratuitousSettings = VRRPGratuitousSettings(),
                trackedInterfaces: [VRRPTrackedObject] = [], trackedScripts: [VRRPTrackedObject] = [],
                notify: VRRPNotifyScripts = VRRPNotifyScripts(), downTimerAdverts: UInt64 = 3,
                syncRelearnPeriod: UInt64 = 0) {
        self.name = name
        self.initialState = initialState
        self.interface = interface
        self.dontTrackPrimary = dontTrackPrimary
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertisementInterval = advertisementInterval
        self.version = version
        self.authentication = authentication
        self.virtualAddresses = virtualAddresses
        self.excludedAddresses = excludedAddresses
        self.noPreempt = noPreempt
        self.preemptDelay = preemptDelay
        self.sourceAddress = sourceAddress
        self.unicastPeers = unicastPeers
        self.gratuitous = gratuitous
        self.trackedInterfaces = trackedInterfaces
        self.trackedScripts = trackedScripts
        self.notify = notify
        self.downTimerAdverts = downTimerAdverts
        self.syncRelearnPeriod = syncRelearnPeriod
    }

    /// 255: RFC 5798 §5.2.4's address owner.
    public var isAddressOwner: Bool { priority == VRRPPriority.owner }
    /// The family of the advertised addresses (keepalived refuses to mix them in one instance).
    public var isIPv6: Bool { virtualAddresses.first.map { !$0.address.isIPv4 } ?? (sourceAddress.map { !$0.isIPv4 } ?? false) }
    public var isUnicast: Bool { !unicastPeers.isEmpty }
    /// `advert_int` in nanoseconds.
    public var advertisementIntervalNanoseconds: UInt64 { UInt64(advertisementInterval) * VRRPTimers.nanosecondsPerCentisecond }
}

/// `state` in `vrrp_instance`.
public enum VRRPInitialState: String, Hashable, Sendable {
    case master = "MASTER"
    case backup = "BACKUP"
}

/// RFC 5798 §5.2.4's reserved priorities.
public enum VRRPPriority {
    /// The address owner: goes MASTER at once and is never preempted.
    public static let owner: UInt8 = 255
    /// "I am leaving": the backup takes over after Skew_Time, not Master_Down_Interval.
    public static let stop: UInt8 = 0
}

/// v2 authentication (RFC 3768 §5.3.6 keeps only "none"; keepalived still sends PASS).
public enum VRRPAuthentication: Hashable, Sendable {
    case none
    /// `auth_type PASS`: the password's first eight bytes, zero-padded, in every advert.
    case password(String)

    public var type: VRRPAuthType {
        switch self {
        case .none: .none
        case .password: .simpleText
        }
    }

    /// The authentication data sent and expected.
    public var data: UInt64 {
        switch self {
        case .none: 0
        case .password(let text): VRRPAdvertisement.authData(password: text)
        }
    }
}

/// One `virtual_ipaddress` line: `ADDRESS[/PREFIX] [dev IF]` (keepalived's defaults: /32,
/// /128, the instance's interface).
public struct VRRPVirtualAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int
    public var device: String?

    public init(_ address: IPAddress, prefixLength: Int? = nil, device: String? = nil) {
        self.address = address
        self.prefixLength = prefixLength ?? (address.isIPv4 ? 32 : 128)
        self.device = device
    }

    public var description: String {
        "\(address)/\(prefixLength)" + (device.map { " dev \($0)" } ?? "")
    }
}

/// keepalived's gratuitous ARP / unsolicited NA settings for a new master
/// (vrrp.h `VRRP_GARP_DELAY`, `VRRP_GARP_REP`, `VRRP_GARP_REFRESH`).
public struct VRRPGratuitousSettings: Hashable, Sendable {
    /// `garp_master_delay`: the second burst, this long after becoming master (0: none).
    public var masterDelay: UInt64
    /// `garp_master_repeat`: messages per address in each burst.
    public var masterRepeat: Int
    /// `garp_master_refresh`: a burst every this long while master (0: never).
    public var masterRefresh: UInt64
    /// `garp_master_refresh_repeat`: messages per address in each refresh.
    public var masterRefreshRepeat: Int

    public init(masterDelay: UInt64 = 5 * VRRPTimers.nanosecondsPerSecond, masterRepeat: Int = 5,
                masterRefresh: UInt64 = 0, masterRefreshRepeat: Int = 1) {
        self.masterDelay = masterDelay
        self.masterRepeat = masterRepeat
        self.masterRefresh = masterRefresh
        self.masterRefreshRepeat = masterRefreshRepeat
    }
}

/// A tracked interface or script: its name, weight and direction.
///
/// keepalived (vrrp_track.c): weight 0 means the instance goes to FAULT while the object is
/// down; a positive weight is added to the priority while it is up, a negative one is added
/// while it is down; `reverse` swaps up and down.
public struct VRRPTrackedObject: Hashable, Sendable {
    public var name: String
    /// nil for a script: the `vrrp_script`'s own weight.
    public var weight: Int?
    public var reverse: Bool

    public init(_ name: String, weight: Int? = nil, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// A program keepalived runs on a transition: its argv, and the user to run it as.
public struct VRRPCommand: Hashable, Sendable {
    public var arguments: [String]
    public var user: String?
    public var group: String?

    public init(_ arguments: [String], user: String? = nil, group: String? = nil) {
        self.arguments = arguments
        self.user = user
        self.group = group
    }
}

/// `notify_master`, `notify_backup`, `notify_fault`, `notify_stop` (run as written) and
/// `notify` (run with `INSTANCE|GROUP NAME STATE PRIORITY` appended, vrrp_notify.c
/// `notify_script_exec`).
public struct VRRPNotifyScripts: Hashable, Sendable {
    public var master: VRRPCommand?
    public var backup: VRRPCommand?
    public var fault: VRRPCommand?
    public var stop: VRRPCommand?
    public var generic: VRRPCommand?

    public init(master: VRRPCommand? = nil, backup: VRRPCommand? = nil, fault: VRRPCommand? = nil,
                stop: VRRPCommand? = nil, generic: VRRPCommand? = nil) {
        self.master = master
        self.backup = backup
        self.fault = fault
        self.stop = stop
        self.generic = generic
    }

    /// The state-specific script for `state`, if any.
    public func script(for state: VRRPState) -> VRRPCommand? {
        switch state {
        case .master: master
        case .backup: backup
        case .fault: fault
        case .stop: stop
        case .initialize: nil
        }
    }
}
