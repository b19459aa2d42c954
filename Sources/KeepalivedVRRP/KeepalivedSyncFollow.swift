import Control
import Core
import VRRP

/// keepalived's `lvs_sync_daemon IF INSTANCE`: the connection-sync role follows the VRRP
/// state of the named instance (keepalived vrrp.c `vrrp_state_become_master` calls
/// `ipvs_syncd_master`, `vrrp_state_leave_master` and the move to FAULT `ipvs_syncd_backup`;
/// ipvswrapper.c starts the backup daemon at startup).
public enum KeepalivedSyncFollow {
    /// The sync role for the instance's new state: MASTER runs the master daemon, BACKUP and
    /// FAULT the backup one; nil for INIT and STOP, which change nothing (at exit lvsd stops
    /// both daemons after it has logged what they did).
    public static func role(for state: VRRPState) -> SyncRole? {
        switch state {
        case .master: .master
        case .backup, .fault: .backup
        case .initialize, .stop: nil
        }
    }

    /// The instance `lvs_sync_daemon` names gets the relearning hold
    /// (`VRRPInstanceConfig.syncRelearnPeriod`): a returning director that would preempt first
    /// listens to the current master's refresh walk (Docs/connection-sync.md, "Failback").
    /// A name that is no instance is a warning, and the sync daemon stays backup.
    static func apply(_ keepalived: KeepalivedConfig, to reader: inout Reader) {
        guard let sync = keepalived.globalDefs.syncDaemon, !sync.instance.isEmpty else { return }
        guard let index = reader.instances.firstIndex(where: { $0.name == sync.instance }) else {
            let message = "lvs_sync_daemon names VRRP instance '\(sync.instance)', which does not exist; the sync daemon stays backup"
            if let line = keepalived.globalDefs.options.last(where: { $0.name == "lvs_sync_daemon" }) {
                reader.warn(line.location, message)
            } else {
                reader.warnings.append(ConfigWarning(file: "", line: 0, column: 0, message: message))
            }
            return
        }
        reader.instances[index].syncRelearnPeriod = keepalived.globalDefs.syncFailback.relearnPeriod
    }
}
