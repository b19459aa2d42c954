import Core
import Foundation
import Synchronization
import Wire

/// The connection-sync daemons of a live director (Docs/connection-sync.md): their sockets,
/// owned here, changed only under `LiveDirector.controlLock`.
public final class SyncDaemons: @unchecked Sendable {
    // Safety (@unchecked): `sender` and `receiver` change only under the director's
    // controlLock; `inboxFull` is an atomic the receiver thread bumps.
    fileprivate var sender: SyncSender?
    fileprivate var receiver: SyncReceiver?
    fileprivate let inboxFull = Atomic<UInt64>(0)
    init() {}
}

/// What `lvsadm -L --daemon` and the exit summary show of the sync daemons.
public struct SyncStatus: Sendable {
    /// The daemons running, master first.
    public var daemons: [SyncDaemonSettings]
    /// Every worker's counters, added up.
    public var counters: SyncCounters
    public var messagesSent: UInt64
    public var bytesSent: UInt64
    public var sendFailures: UInt64
    public var datagramsReceived: UInt64
    public var bytesReceived: UInt64
    /// Datagrams a worker's sync inbox had no room for within 1 s (the worker was stuck): lost.
    public var inboxFull: UInt64
}

extension LiveDirector {
    /// Starts a sync daemon: the master's socket and every worker noting its connections
    /// (drained between batches into messages for the socket), or the backup's socket and
    /// thread, whose datagrams every worker reads between batches, each installing the
    /// connections the fanout steers to it (`FanoutSteering.worker(for:config:workers:)`).
    /// Refuses a role that runs already and settings that cannot run (`SyncDaemonSettings.problem`).
    /// A master with a `refreshPeriod` also walks its table (`Director.refreshSync`).
    public func startSync(_ settings: SyncDaemonSettings, refreshPeriod: UInt64 = 0) throws(EngineError) {
        if let problem = settings.problem { throw EngineError("sync: \(problem)") }
        controlLock.lock()
        defer { controlLock.unlock() }
        switch settings.role {
        case .master:
            if let running = syncDaemons.sender {
                throw EngineError("sync: a master sync daemon is already running (on \(running.settings.interface)); stop it first with --stop-daemon master")
            }
            let sender = try SyncSender(settings)
            var message = settings.syncSettings
            message.refreshPeriod = refreshPeriod
            message.steeringKey = workers.count > 1 ? steeringKey : nil
            performLocked { worker in
                worker.director.startSyncMaster(message)
                worker.syncSender = sender
            }
            syncDaemons.sender = sender
        case .backup:
            if let running = syncDaemons.receiver {
                throw EngineError("sync: a backup sync daemon is already running (on \(running.settings.interface)); stop it first with --stop-daemon backup")
            }
            let inboxes = workers.map { ($0.syncInbox, $0.wakeUp) }
            let full = syncDaemons
            let adopter = workers.count > 1 ? SteeringKeyAdopter(self) : nil
            let receiver = try SyncReceiver(settings) { datagram in
                // Before the workers route its entries: a FullNAT entry routed with another
                // key than the master's would sit on a worker its client's frames never reach.
                if let adopter, let key = Self.steeringKey(in: datagram) { adopter.director?.adoptSteeringKey(key) }
                // A worker busy with a long control task (a listing of a large table) drains
                // nothing meanwhile: wait for room (up to 1 s) rather than lose the datagram;
                // the socket's buffer holds what arrives in the meantime.
                for (inbox, wakeUp) in inboxes {
                    var waited = 0
                    while !inbox.post(datagram) {
                        wakeUp.signal()
                        waited += 1
                        if waited > 10_000 {
                            full.inboxFull.add(1, ordering: .relaxed)
                            break
                        }
                        usleep(100)
                    }
                    wakeUp.signal()
                }
            }
            let syncID = settings.syncID
            // The key the fanout program hashes with: a synced connection goes to the worker
            // its frames will reach.
            let key = steeringKey
            performLocked { worker in
                worker.syncBackupID = syncID
                worker.syncSteeringKey = key
            }
            receiver.start()
            syncDaemons.receiver = receiver
        }
    }

    /// The master's steering key on the first FullNAT entry of a sync datagram, if any.
    static func steeringKey(in datagram: [UInt8]) -> UInt32? {
        var bytes = datagram
        return bytes.withUnsafeMutableBytes { raw -> UInt32? in
            guard let base = raw.baseAddress, let message = try? SyncMessage(base, length: raw.count) else { return nil }
            var key: UInt32?
            message.forEachConnection { entry in
                if key == nil { key = entry.options.steeringKey }
            }
            return key
        }
    }

    /// Hashes with `key` from now on, as the sync master does: the fanout program is rebuilt
    /// and attached, and the workers route synced entries with it. The master chose each
    /// FullNAT connection's local port so that the worker the port steers replies to is the
    /// one the keyed hash steers its client to; with the master's key (and as many workers)
    /// the same holds here. Connections this director made with its own key before would
    /// lose their client side, which is why only a backup takes a key.
    func adoptSteeringKey(_ key: UInt32) {
        controlLock.lock()
        defer { controlLock.unlock() }
        guard key != steeringKey, workers.count > 1, syncDaemons.sender == nil else { return }
        do {
            let program = try FanoutSteering.program(for: config, workers: workers.count, key: key)
            for socket in fanoutSockets { try socket.attachFanoutProgram(program) }
        } catch {
            logger.error("lvsd: sync: cannot take the master's steering key: \(error)")
            return
        }
        steeringKey = key
        performLocked { $0.syncSteeringKey = key }
        logger.notice("lvsd: sync: took the master's worker-steering key, so its FullNAT connections keep one worker here after a failover (the master must run as many workers)")
    }

    /// Stops the daemon of `role`; false when none runs.
    @discardableResult
    public func stopSync(_ role: SyncRole) -> Bool {
        controlLock.lock()
        defer { controlLock.unlock() }
        switch role {
        case .master:
            guard syncDaemons.sender != nil else { return false }
            performLocked { worker in
                worker.director.stopSyncMaster()
                worker.syncSender = nil
            }
            syncDaemons.sender = nil
        case .backup:
            guard let receiver = syncDaemons.receiver else { return false }
            receiver.stop()
            performLocked { worker in worker.syncBackupID = nil }
            syncDaemons.receiver = nil
        }
        return true
    }

    /// The daemons running and their counters (the workers' read on their own threads).
    public func syncStatus() -> SyncStatus {
        let parts = SyncCounterParts(count: workers.count)
        controlLock.lock()
        let sender = syncDaemons.sender, receiver = syncDaemons.receiver
        performLocked { worker in parts.store(worker.director.syncCounters, at: worker.index) }
        controlLock.unlock()
        let sent = sender?.counts ?? (messages: 0, bytes: 0, failed: 0)
        let received = receiver?.counts ?? (messages: 0, bytes: 0)
        return SyncStatus(daemons: [sender?.settings, receiver?.settings].compactMap { $0 }, counters: parts.total,
                          messagesSent: sent.messages, bytesSent: sent.bytes, sendFailures: sent.failed,
                          datagramsReceived: received.messages, bytesReceived: received.bytes,
                          inboxFull: syncDaemons.inboxFull.load(ordering: .relaxed))
    }
}

/// Each worker's sync counters, written on the workers' threads, read after all did.
private final class SyncCounterParts: @unchecked Sendable {
    // Safety (@unchecked): slot k is written only by worker k's task; performLocked returns
    // only after every task ran.
    private var parts: [SyncCounters]
    init(count: Int) { parts = Array(repeating: SyncCounters(), count: count) }
    func store(_ counters: SyncCounters, at index: Int) { parts[index] = counters }

    var total: SyncCounters {
        var sum = SyncCounters()
        for c in parts {
            sum.ringFull &+= c.ringFull
            sum.notesStale &+= c.notesStale
            sum.notesMixedFamily &+= c.notesMixedFamily
            sum.messagesBuilt &+= c.messagesBuilt
            sum.connectionsSent &+= c.connectionsSent
            sum.connectionsRefreshed &+= c.connectionsRefreshed
            sum.refreshPasses &+= c.refreshPasses
            sum.messagesReceived &+= c.messagesReceived
            sum.messagesOtherGroup &+= c.messagesOtherGroup
            sum.connectionsInstalled &+= c.connectionsInstalled
            sum.connectionsUpdated &+= c.connectionsUpdated
            sum.rejected.merge(c.rejected, uniquingKeysWith: &+)
            sum.dropped.merge(c.dropped, uniquingKeysWith: &+)
        }
        return sum
    }
}

/// The receiver thread's way back to its director, to adopt the master's steering key.
private final class SteeringKeyAdopter: @unchecked Sendable {
    // Safety (@unchecked): set once; `adoptSteeringKey` takes the director's control lock.
    weak var director: LiveDirector?
    init(_ director: LiveDirector) { self.director = director }
}
