// Table memory per connection: the connection table's own accounting, the layout of one
// `Connection`, and what a 1M-capacity director really costs in resident memory.
import Core
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Resident set size in bytes, from /proc/self/statm (second field, in pages).
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return -1 }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    while true {
        let c = fgetc(f)
        if c < 0 || c == 10 { break }
        bytes.append(UInt8(c))
    }
    let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let capacity = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000

let config = DirectorConfig(
    services: [VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress("198.18.0.10")!, 80),
                                    realServers: [RealServerConfig(address: IPAddress("198.18.1.11")!, port: 80)])],
    interfaces: [InterfaceConfig(name: "client0", mac: MACAddress("02:00:00:00:00:01")!)])

let before = residentBytes()
let director = Director(config: config, capacity: capacity, now: 0)
let after = residentBytes()

let perConnection = director.table.bytesPerConnection
let growth = after - before
print("capacity                          \(director.table.capacity)")
print("MemoryLayout<Connection>.size     \(MemoryLayout<Connection>.size) bytes")
print("MemoryLayout<Connection>.stride   \(MemoryLayout<Connection>.stride) bytes")
print("ConnectionTable.bytesPerConnection \(perConnection) bytes")
print("RSS before director                \(before / 1024) KiB")
print("RSS after director                 \(after / 1024) KiB")
print("RSS growth                         \(growth / 1024) KiB (\(growth / capacity) bytes per connection of capacity)")
print("target ≤ 256 bytes/connection      \(perConnection <= 256 && growth / capacity <= 256 ? "met" : "MISSED")")
withExtendedLifetime(director) {}
