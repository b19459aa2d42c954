import Core
import Wire

extension AdminListing {
    /// `-L -c` (ipvsadm.c `list_conn`, `print_conn`): a title, the column header, then per
    /// connection `"%-3s %-6s %-11s %-18s %-18s %s"` of protocol, `mm:ss` until expiry,
    /// state, client, virtual and destination address:port. `--persistent-conn` widens the
    /// header with the persistence-engine columns; entries keep the short form, as they
    /// carry no persistence-engine data.
    static func connections(_ snapshot: AdminSnapshot, _ format: ListingFormat) -> String {
        var text = "IPVS connection entries\n"
        if format.persistentConnections {
            text += "pro expire " + left("state", 11) + " " + left("source", 18) + " " + left("virtual", 18) + " "
                + left("destination", 18) + " " + left("pe name", 16) + " pe_data\n"
        } else {
            text += "pro expire " + left("state", 11) + " " + left("source", 18) + " " + left("virtual", 18) + " destination\n"
        }
        for c in snapshot.connections {
            text += connectionLine(c, format)
        }
        return text
    }

    static func connectionLine(_ c: AdminSnapshot.Connection, _ format: ListingFormat) -> String {
        let expire = twoDigits(c.expires / 60) + ":" + twoDigits(c.expires % 60)
        let client = addressAndPort(c.clientAddress, c.clientPort, c.proto, numeric: format.numeric)
        let virtual = addressAndPort(c.virtualAddress, c.virtualPort, c.proto, numeric: format.numeric)
        let destination = addressAndPort(c.destinationAddress, c.destinationPort, c.proto, numeric: format.numeric)
        return left(c.proto.description, 3) + " " + left(expire, 6) + " " + left(c.state, 11) + " " + left(client, 18) + " "
            + left(virtual, 18) + " " + destination + "\n"
    }

    /// printf's `%02d`.
    private static func twoDigits(_ value: UInt32) -> String {
        value < 10 ? "0\(value)" : String(value)
    }

    /// `--timeout` (`list_timeout`).
    static func timeouts(_ snapshot: AdminSnapshot) -> String {
        let t = snapshot.timeouts
        return "Timeout (tcp tcpfin udp): \(t.tcp) \(t.tcpFin) \(t.udp)\n"
    }

    /// DPVS `--get-laddr` (tools/ipvsadm/ipvsadm.c `list_laddrs`, `list_all_laddrs`): a title
    /// (`"%-20s %-8s %-20s %-10s %-10s"`), then per service its VIP:port and number of local
    /// addresses (`"%-20s %-8u "`), then one line per local address with its allocation
    /// conflicts and connections. For one service (`-t`/`-u`), only that one; a missing
    /// service is "No such service".
    public static func localAddresses(_ snapshot: AdminSnapshot, service key: ServiceKey?) throws(AdminError) -> String {
        var services = sortedServices(snapshot, ListingFormat())
        if let key {
            guard let service = snapshot.services.first(where: { $0.key == key }) else {
                throw AdminError("No such service", detail: "service \(key) does not exist", exitCode: AdminError.listingExit,
                                 subject: .service)
            }
            services = [service]
        }
        guard !services.isEmpty else { return "" }
        var text = left("VIP:VPORT", 20) + " " + left("TOTAL", 8) + " " + left("SNAT_IP", 20) + " " + left("CONFLICTS", 10) + " "
            + left("CONNS", 10) + "\n"
        for service in services {
            text += left(addressAndPort(service.key.address, service.key.port, service.key.proto, numeric: true), 20) + " "
                + left(String(service.localAddresses.count), 8) + " \n"
            for lip in service.localAddresses {
                text += left("", 20) + " " + left("", 8) + " " + left(lip.address.description, 20) + " "
                    + left(String(lip.portConflicts), 10) + " " + left(String(lip.connections), 10) + "\n"
            }
        }
        return text
    }
}
