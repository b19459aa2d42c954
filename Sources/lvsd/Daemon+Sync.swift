import Control
import Core
import Engine
import KeepalivedVRRP
import Logging
import VRRP

/// Connection sync in `lvsd run` (Docs/connection-sync.md): lvsadm's `--start-daemon`,
/// `--stop-daemon` and `-L --daemon`, and the role keepalived's `lvs_sync_daemon` gives.
extension Daemon {
    /// lvsadm's sync requests.
    func syncRequest(_ body: ControlRequest.Body) -> ControlResponse {
        switch body {
        case .startDaemon(let settings):
            do {
                try live.startSync(settings)
            } catch {
                logger.error("lvsd: \(error)")
                return .failed(AdminError("lvsadm: \(error)", exitCode: 1))
            }
            logger.notice("lvsd: sync: \(settings.role.rawValue) sync daemon started on \(settings.interface) (group \(settings.group):\(settings.port), ttl \(settings.ttl), syncid \(settings.syncID), maxlen \(settings.maxLength))",
                          metadata: ["role": "\(settings.role.rawValue)", "interface": "\(settings.interface)", "syncid": "\(settings.syncID)"])
            return .applied
        case .stopDaemon(let role):
            guard live.stopSync(role) else {
                return .failed(AdminError("lvsadm: no \(role.rawValue) sync daemon is running", exitCode: 1))
            }
            logger.notice("lvsd: sync: \(role.rawValue) sync daemon stopped", metadata: ["role": "\(role.rawValue)"])
            return .applied
        case .syncDaemons:
            return .syncDaemons(live.syncStatus().daemons)
        default:
            return .failed(AdminError("lvsadm: not a sync request", exitCode: 1))
        }
    }

    /// A VRRP transition: when `instance` is the one `lvs_sync_daemon` names, the sync role
    /// follows its new state (`KeepalivedSyncFollow.role(for:)`).
    func vrrpStateChanged(_ instance: String, to state: VRRPState) {
        guard syncPlan != nil, instance == syncInstance, let role = KeepalivedSyncFollow.role(for: state) else { return }
        setSyncRole(role, reason: "VRRP instance \(instance) is \(state)")
    }

    /// The hook for VRRP (keepalived's `lvs_sync_daemon IF INSTANCE`): call it when the named
    /// instance changes state. `.master` runs the master daemon and stops the backup one;
    /// `.backup` (BACKUP or FAULT) the reverse; nil (the instance stopped) stops both. Uses
    /// `syncPlan`'s interface, group, port, TTL, syncid and maxlen; does nothing without one.
    /// As keepalived does, a director that becomes master stops receiving at once: what it
    /// learned as backup stays in its table and is forwarded from then on.
    /// A master here also walks its table once per `SyncFailbackSettings.refreshPeriod`, so a
    /// returning backup relearns idle connections before it preempts (Docs/connection-sync.md).
    func setSyncRole(_ role: SyncRole?, reason: String) {
        guard var settings = syncPlan else { return }
        for other in SyncRole.allCases where other != role {
            if live.stopSync(other) {
                logger.notice("lvsd: sync: \(other.rawValue) sync daemon stopped (\(reason))", metadata: ["role": "\(other.rawValue)", "reason": "\(reason)"])
            }
        }
        guard let role else { return }
        settings.role = role
        let refresh = role == .master ? syncFailback.refreshPeriod : 0
        if live.syncStatus().daemons.contains(where: { $0.role == role }) { return }
        do {
            try live.startSync(settings, refreshPeriod: refresh)
            logger.notice("lvsd: sync: \(role.rawValue) sync daemon started on \(settings.interface) (group \(settings.group):\(settings.port), syncid \(settings.syncID)\(refresh > 0 ? ", every connection re-sent every \(refresh / 1_000_000_000) s" : ""); \(reason))",
                          metadata: ["role": "\(role.rawValue)", "interface": "\(settings.interface)", "syncid": "\(settings.syncID)", "reason": "\(reason)"])
        } catch {
            logger.error("lvsd: \(error)")
        }
    }

    /// At exit: stops both daemons and logs what they did.
    func stopSyncDaemons() {
        let status = live.syncStatus()
        guard !status.daemons.isEmpty else { return }
        for role in SyncRole.allCases { live.stopSync(role) }
        let c = status.counters
        logger.info("lvsd: sync: sent \(status.messagesSent) messages (\(status.bytesSent) bytes, \(c.connectionsSent) connections (\(c.connectionsRefreshed) by \(c.refreshPasses) refresh passes), \(status.sendFailures) failed, \(c.ringFull) notes lost to a full ring, \(c.notesStale) stale); received \(status.datagramsReceived) (\(status.bytesReceived) bytes): \(c.connectionsInstalled) installed, \(c.connectionsUpdated) updated, \(c.connectionsDropped) dropped, \(c.messagesRejected) messages rejected, \(status.inboxFull) lost to a full inbox")
        for (reason, n) in c.dropped.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { logger.info("lvsd:   sync dropped \(reason): \(n)", metadata: ["reason": "\(reason)", "count": "\(n)"]) }
        for (error, n) in c.rejected.sorted(by: { "\($0.key)" < "\($1.key)" }) { logger.info("lvsd:   sync rejected \(error): \(n)") }
    }
}
