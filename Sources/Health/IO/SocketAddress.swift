import POSIX
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// An `Endpoint` as the kernel wants it: sockaddr_in / sockaddr_in6 in a sockaddr_storage.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t

    init(_ endpoint: Endpoint) {
        if endpoint.address.isIPv4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = endpoint.port.bigEndian
            sin.sin_addr.s_addr = endpoint.address.ipv4.bigEndian
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            // Safety: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin, as: sockaddr_in.self) }
        } else {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = endpoint.port.bigEndian
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                bytes[i] = UInt8(truncatingIfNeeded: endpoint.address.high >> (56 - 8 * UInt64(i)))
                bytes[8 + i] = UInt8(truncatingIfNeeded: endpoint.address.low >> (56 - 8 * UInt64(i)))
            }
            // Safety: in6_addr is 16 bytes.
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            // Safety: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin6, as: sockaddr_in6.self) }
        }
    }

    var family: Int32 { Int32(storage.ss_family) }

    func withPointer<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            // Safety: the storage outlives the call; sockaddr is its common prefix.
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}

/// Non-blocking socket steps the probes share (keepalived layer4.c socket_bind_connect,
/// socket_state).
enum ProbeSocket {
    /// socket(2), non-blocking and close-on-exec.
    static func open(family: Int32, type: Int32, protocol proto: Int32) -> Result<OwnedDescriptor, CheckFailure> {
        let fd = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else { return .failure(CheckFailure("cannot create a socket: \(SystemCall.describe(errno))")) }
        return .success(OwnedDescriptor(fd))
    }

    /// bind_if, bindto and bind_port (keepalived socket_bind_connect), before connect.
    static func prepare(_ fd: Int32, target: CheckTarget) -> CheckFailure? {
        if let name = target.bindInterface, !name.isEmpty {
            let result = name.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(name.utf8.count + 1)) }
            if result != 0 { return CheckFailure("cannot bind to device \(name): \(SystemCall.describe(errno))") }
        }
        if let source = target.source {
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let address = SocketAddress(source)
            let result = address.withPointer { bind(fd, $0, $1) }
            if result != 0 { return CheckFailure("cannot bind to \(source): \(SystemCall.describe(errno))") }
        }
        return nil
    }

    enum ConnectStart {
        case connected
        case inProgress
        case failed(CheckFailure)
    }

    /// connect(2) on a non-blocking socket.
    static func connect(_ fd: Int32, to endpoint: Endpoint) -> ConnectStart {
        let address = SocketAddress(endpoint)
        switch SystemCall.run(alsoWouldBlock: EINPROGRESS, { Int(address.withPointer { Glibc.connect(fd, $0, $1) }) }) {
        case .done: return .connected
        case .wouldBlock: return .inProgress
        case .failed(let code): return .failed(CheckFailure(SystemCall.describe(code)))
        }
    }

    /// SO_ERROR after a non-blocking connect became writable: 0 when connected.
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { return errno }
        return code
    }

    /// send(2) without SIGPIPE.
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> SystemCall.Outcome {
        bytes.withUnsafeBytes { raw in
            SystemCall.run { Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// recv(2) into `buffer`.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> SystemCall.Outcome {
        buffer.withUnsafeMutableBytes { raw in
            SystemCall.run { recv(fd, raw.baseAddress, raw.count, 0) }
        }
    }
}
