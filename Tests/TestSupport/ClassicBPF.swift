import PacketIO

/// A classic BPF interpreter and checker with the kernel's semantics, to run `FanoutProgram`
/// without root: `check` mirrors `bpf_check_classic` (net/core/filter.c: known opcodes,
/// jumps inside the program, a return last, scratch memory written before it is read on
/// every path, no constant division by zero), `run` the interpreter a fanout group runs
/// (`fanout_demux_bpf`): the packet starts at the network header, the EtherType comes from
/// the SKF_AD_PROTOCOL ancillary load, and a load outside the packet ends the program with 0.
///
/// The opcodes are spelled here as numbers from linux/filter.h and linux/bpf_common.h on
/// purpose: an independent spelling of what FanoutProgram encodes from the C headers.
public enum ClassicBPF {
    // Classes, sizes, modes, operations, sources (linux/bpf_common.h).
    public static let ld: UInt16 = 0x00, ldx: UInt16 = 0x01, st: UInt16 = 0x02, stx: UInt16 = 0x03
    public static let alu: UInt16 = 0x04, jmp: UInt16 = 0x05, ret: UInt16 = 0x06, misc: UInt16 = 0x07
    public static let w: UInt16 = 0x00, h: UInt16 = 0x08, b: UInt16 = 0x10
    public static let imm: UInt16 = 0x00, abs: UInt16 = 0x20, ind: UInt16 = 0x40, mem: UInt16 = 0x60
    public static let len: UInt16 = 0x80, msh: UInt16 = 0xA0
    public static let add: UInt16 = 0x00, sub: UInt16 = 0x10, mul: UInt16 = 0x20, div: UInt16 = 0x30
    public static let or: UInt16 = 0x40, and: UInt16 = 0x50, lsh: UInt16 = 0x60, rsh: UInt16 = 0x70
    public static let neg: UInt16 = 0x80, mod: UInt16 = 0x90, xor: UInt16 = 0xA0
    public static let ja: UInt16 = 0x00, jeq: UInt16 = 0x10, jgt: UInt16 = 0x20, jge: UInt16 = 0x30, jset: UInt16 = 0x40
    public static let k: UInt16 = 0x00, x: UInt16 = 0x08, a: UInt16 = 0x10
    public static let tax: UInt16 = 0x00, txa: UInt16 = 0x80
    /// SKF_AD_OFF + SKF_AD_PROTOCOL (linux/filter.h).
    public static let protocolOffset = UInt32(bitPattern: -0x1000)

    /// Why the kernel would refuse `program`, or nil when it would accept it.
    public static func check(_ program: [FanoutProgram.Instruction]) -> String? {
        guard !program.isEmpty, program.count <= 4096 else { return "length \(program.count)" }
        var masks = [UInt16](repeating: 0xFFFF, count: program.count)
        var valid: UInt16 = 0
        for (pc, i) in program.enumerated() {
            valid &= masks[pc]
            let cls = i.code & 0x07
            switch cls {
            case ld, ldx:
                let mode = i.code & 0xE0
                if mode == mem {
                    guard i.k < 16 else { return "pc \(pc): memory cell \(i.k)" }
                    guard valid & (1 << i.k) != 0 else { return "pc \(pc): M[\(i.k)] read before written" }
                }
                if cls == ldx && mode == msh && i.code != ldx | b | msh { return "pc \(pc): msh must be a byte load" }
            case st, stx:
                guard i.k < 16 else { return "pc \(pc): memory cell \(i.k)" }
                valid |= 1 << i.k
            case alu:
                let op = i.code & 0xF0
                if (op == div || op == mod) && i.code & 0x08 == k && i.k == 0 { return "pc \(pc): division by 0" }
                guard [add, sub, mul, div, or, and, lsh, rsh, neg, mod, xor].contains(op) else { return "pc \(pc): alu op \(op)" }
            case jmp:
                let op = i.code & 0xF0
                if op == ja {
                    guard pc + 1 + Int(i.k) < program.count else { return "pc \(pc): ja out of range" }
                    masks[pc + 1 + Int(i.k)] &= valid
                    valid = 0xFFFF
                } else {
                    guard [jeq, jgt, jge, jset].contains(op) else { return "pc \(pc): jump op \(op)" }
                    let t = pc + 1 + Int(i.jt), f = pc + 1 + Int(i.jf)
                    guard t < program.count, f < program.count else { return "pc \(pc): jump out of range" }
                    masks[t] &= valid
                    masks[f] &= valid
                    valid = 0xFFFF
                }
            case ret:
                break
            default:
                guard i.code == misc | tax || i.code == misc | txa else { return "pc \(pc): code \(i.code)" }
            }
        }
        guard program.last!.code & 0x07 == ret else { return "the last instruction is not a return" }
        return nil
    }

    /// Runs `program` over `packet` (starting at the network header) received with EtherType
    /// `etherType`; returns what it returns (0 when a load falls outside the packet).
    public static func run(_ program: [FanoutProgram.Instruction], packet: [UInt8], etherType: UInt16) -> UInt32 {
        var A: UInt32 = 0, X: UInt32 = 0
        var M = [UInt32](repeating: 0, count: 16)
        var pc = 0
        func load(_ offset: Int, _ size: UInt16) -> UInt32? {
            let n = size == w ? 4 : size == h ? 2 : 1
            guard offset >= 0, offset + n <= packet.count else { return nil }
            return (0..<n).reduce(UInt32(0)) { $0 << 8 | UInt32(packet[offset + $1]) }
        }
        var steps = 0
        while pc < program.count {
            steps += 1
            precondition(steps <= 100_000, "a classic BPF program cannot loop")
            let i = program[pc]
            pc += 1
            switch i.code & 0x07 {
            case ld:
                let size = i.code & 0x18
                switch i.code & 0xE0 {
                case imm: A = i.k
                case mem: A = M[Int(i.k)]
                case len: A = UInt32(packet.count)
                case abs:
                    if i.k == protocolOffset { A = UInt32(etherType); continue }
                    guard Int32(bitPattern: i.k) >= 0, let v = load(Int(i.k), size) else { return 0 }
                    A = v
                case ind:
                    guard let v = load(Int(X) + Int(Int32(bitPattern: i.k)), size) else { return 0 }
                    A = v
                default: preconditionFailure("ld mode \(i.code)")
                }
            case ldx:
                switch i.code & 0xE0 {
                case imm: X = i.k
                case mem: X = M[Int(i.k)]
                case len: X = UInt32(packet.count)
                case msh:
                    guard let v = load(Int(i.k), b) else { return 0 }
                    X = 4 * (v & 0x0F)
                default: preconditionFailure("ldx mode \(i.code)")
                }
            case st: M[Int(i.k)] = A
            case stx: M[Int(i.k)] = X
            case alu:
                let operand = i.code & 0x08 == x ? X : i.k
                switch i.code & 0xF0 {
                case add: A = A &+ operand
                case sub: A = A &- operand
                case mul: A = A &* operand
                case div: if operand == 0 { return 0 }; A /= operand
                case mod: if operand == 0 { return 0 }; A %= operand
                case or: A |= operand
                case and: A &= operand
                case lsh: A = operand >= 32 ? 0 : A << operand
                case rsh: A = operand >= 32 ? 0 : A >> operand
                case neg: A = 0 &- A
                case xor: A ^= operand
                default: preconditionFailure("alu \(i.code)")
                }
            case jmp:
                let operand = i.code & 0x08 == x ? X : i.k
                let taken: Bool
                switch i.code & 0xF0 {
                case ja: pc += Int(i.k); continue
                case jeq: taken = A == operand
                case jgt: taken = A > operand
                case jge: taken = A >= operand
                case jset: taken = A & operand != 0
                default: preconditionFailure("jmp \(i.code)")
                }
                pc += Int(taken ? i.jt : i.jf)
            case ret:
                return i.code & 0x18 == a ? A : i.k
            default:
                if i.code == misc | tax { X = A } else { A = X }
            }
        }
        preconditionFailure("the program ran off its end")
    }

    /// What the kernel hands a fanout program for an Ethernet frame: the EtherType (after one
    /// 802.1Q or 802.1ad tag, which the receive path moves into the skb) and the bytes after
    /// the link-layer header.
    public static func received(_ frame: [UInt8]) -> (etherType: UInt16, packet: [UInt8]) {
        var type = UInt16(frame[12]) << 8 | UInt16(frame[13])
        var start = 14
        if type == 0x8100 || type == 0x88A8 {
            type = UInt16(frame[16]) << 8 | UInt16(frame[17])
            start = 18
        }
        return (type, Array(frame[start...]))
    }

    /// The worker a fanout group of `program.workers` members gives `frame` (the kernel takes
    /// the program's result modulo the group size).
    public static func worker(_ program: FanoutProgram, _ frame: [UInt8]) -> Int {
        let (type, packet) = received(frame)
        return Int(run(program.instructions, packet: packet, etherType: type) % UInt32(program.workers))
    }
}
