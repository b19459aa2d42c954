import Wire

/// An advertisement whose bytes `VRRPAdvertisement` accepted, as a value the state machine
/// can keep: the fields, and what the IP layer said about it (source, TTL, interface).
public struct VRRPReceivedAdvert: Hashable, Sendable {
    /// The interface it arrived on (nil when unknown: a unicast socket without one).
    public var interface: String?
    public var source: IPAddress
    public var destination: IPAddress
    /// IPv4 TTL or IPv6 hop limit.
    public var ttl: UInt8
    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    public var priority: UInt8
    /// v2 only.
    public var authType: VRRPAuthType
    /// v2 only.
    public var authData: UInt64
    /// v2's seconds × 100 or v3's Max Adver Int.
    public var intervalCentiseconds: UInt16
    public var addresses: [IPAddress]

    public init(interface: String? = nil, source: IPAddress, destination: IPAddress, ttl: UInt8 = VRRPAdvertisement.ttl,
                version: VRRPVersion, virtualRouterID: UInt8, priority: UInt8, authType: VRRPAuthType = .none,
                authData: UInt64 = 0, intervalCentiseconds: UInt16, addresses: [IPAddress]) {
        self.interface = interface
        self.source = source
        self.destination = destination
        self.ttl = ttl
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.authType = authType
        self.authData = authData
        self.intervalCentiseconds = intervalCentiseconds
        self.addresses = addresses
    }

    /// The fields of a validated view (adverts arrive once a second per router, so copying
    /// the addresses out is affordable here, unlike on the packet path).
    public init(_ view: VRRPAdvertisement, interface: String?, source: IPAddress, destination: IPAddress, ttl: UInt8) {
        self.init(interface: interface, source: source, destination: destination, ttl: ttl, version: view.version,
                  virtualRouterID: view.virtualRouterID, priority: view.priority,
                  authType: view.version == .v2 ? view.authType : .none,
                  authData: view.version == .v2 ? view.authData : 0,
                  intervalCentiseconds: view.intervalCentiseconds,
                  addresses: (0..<view.addressCount).map(view.address(at:)))
    }
}
