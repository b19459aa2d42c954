import Core

/// `ipvsadm -L -n` for one director, as `lvsd run` logs it at exit: the same renderer
/// lvsadm uses (`AdminListing` over an `AdminSnapshot` of the director), without the final
/// newline so callers can split it into log lines.
public enum IPVSListing {
    public static func render(_ director: Director) -> String {
        let snapshot = AdminSnapshot(director: director, now: 0, includeConnections: false)
        // A listing of every service cannot fail (only one named service can be missing).
        let text = (try? AdminListing.render(ListingRequest(format: ListingFormat(numeric: true)), snapshot)) ?? ""
        return String(text.dropLast())
    }
}
