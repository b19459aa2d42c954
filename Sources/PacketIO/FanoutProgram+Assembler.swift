import CLinuxPacket
import Wire

// MARK: - The assembler

extension FanoutProgram {
    struct Label: Hashable {
        var name: String
        var index: Int
        init(_ name: String, _ index: Int = 0) {
            self.name = name
            self.index = index
        }
    }

    enum Size { case word, half, byte }

    /// One line of the program: an instruction with symbolic jump targets, or a label.
    enum Step: Equatable {
        case label(Label)
        /// A = the frame's EtherType (skb->protocol, host order).
        case loadProtocol
        /// A = P[k:size] (big-endian).
        case load(Size, UInt32)
        /// A = P[X + k:size].
        case loadIndexed(Size, UInt32)
        /// X = 4 × (P[k] & 0xF): an IPv4 header's length.
        case loadHeaderLength(UInt32)
        case loadSlot(Slot)
        case loadSlotX(Slot)
        case store(Slot)
        case tax
        case and(UInt32)
        case shiftLeft(UInt32)
        case shiftRight(UInt32)
        case multiply(UInt32)
        case modulo(UInt32)
        /// A += X.
        case addX
        /// A ^= X.
        case xorX
        case xorK(UInt32)
        case jump(Label)
        case jumpIfEqual(UInt32, Label, else: Label)
        case jumpIfGreater(UInt32, Label, else: Label)
        case jumpIfAnySet(UInt32, Label, else: Label)
        case returnA
        case returnConstant(UInt32)
    }

    /// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h), one row per step kind.
    static func opcode(_ step: Step) -> (code: Int32, k: UInt32) {
        switch step {
        case .label: (-1, 0)
        case .loadProtocol: (BPF_LD | BPF_H | BPF_ABS, UInt32(bitPattern: SKF_AD_OFF + SKF_AD_PROTOCOL))
        case .load(let size, let k): (BPF_LD | sizeBits(size) | BPF_ABS, k)
        case .loadIndexed(let size, let k): (BPF_LD | sizeBits(size) | BPF_IND, k)
        case .loadHeaderLength(let k): (BPF_LDX | BPF_B | BPF_MSH, k)
        case .loadSlot(let slot): (BPF_LD | BPF_MEM, slot.rawValue)
        case .loadSlotX(let slot): (BPF_LDX | BPF_MEM, slot.rawValue)
        case .store(let slot): (BPF_ST, slot.rawValue)
        case .tax: (BPF_MISC | BPF_TAX, 0)
        case .and(let k): (BPF_ALU | BPF_AND | BPF_K, k)
        case .shiftLeft(let k): (BPF_ALU | BPF_LSH | BPF_K, k)
        case .shiftRight(let k): (BPF_ALU | BPF_RSH | BPF_K, k)
        case .multiply(let k): (BPF_ALU | BPF_MUL | BPF_K, k)
        case .modulo(let k): (BPF_ALU | BPF_MOD | BPF_K, k)
        case .addX: (BPF_ALU | BPF_ADD | BPF_X, 0)
        case .xorX: (BPF_ALU | BPF_XOR | BPF_X, 0)
        case .xorK(let k): (BPF_ALU | BPF_XOR | BPF_K, k)
        case .jump: (BPF_JMP | BPF_JA, 0)
        case .jumpIfEqual(let k, _, _): (BPF_JMP | BPF_JEQ | BPF_K, k)
        case .jumpIfGreater(let k, _, _): (BPF_JMP | BPF_JGT | BPF_K, k)
        case .jumpIfAnySet(let k, _, _): (BPF_JMP | BPF_JSET | BPF_K, k)
        case .returnA: (BPF_RET | BPF_A, 0)
        case .returnConstant(let k): (BPF_RET | BPF_K, k)
        }
    }

    static func sizeBits(_ size: Size) -> Int32 {
        switch size {
        case .word: BPF_W
        case .half: BPF_H
        case .byte: BPF_B
        }
    }

    /// Resolves labels to offsets. Conditional jumps reach at most 255 instructions ahead, so
    /// a conditional jump whose target is farther is relaxed into a short hop over an
    /// unconditional `ja` (32-bit offset); lengths only grow, so a few passes settle it.
    enum Assembler {
        /// How a conditional jump is laid out: alone, or followed by `ja` to its true target,
        /// its false target, or both.
        enum Form { case short, farTrue, farFalse, farBoth }

        static func assemble(_ steps: [Step]) throws(PacketIOError) -> [Instruction] {
            var forms = [Form](repeating: .short, count: steps.count)
            while true {
                // Lay out: the address of every step and label with the current forms.
                var address = [Int](repeating: 0, count: steps.count)
                var labels: [Label: Int] = [:]
                var pc = 0
                for (i, step) in steps.enumerated() {
                    address[i] = pc
                    if case .label(let l) = step {
                        guard labels[l] == nil else { throw failure("label \(l.name)#\(l.index) is defined twice") }
                        labels[l] = pc
                    } else {
                        pc += length(step, forms[i])
                    }
                }
                func target(_ l: Label, from pc: Int) throws(PacketIOError) -> Int {
                    guard let at = labels[l] else { throw failure("label \(l.name)#\(l.index) is not defined") }
                    guard at > pc else { throw failure("label \(l.name)#\(l.index) is not after its jump") }
                    return at - pc - 1
                }
                var changed = false
                var out: [Instruction] = []
                out.reserveCapacity(pc)
                for (i, step) in steps.enumerated() {
                    let (code, k) = opcode(step)
                    let at = address[i]
                    switch step {
                    case .label:
                        continue
                    case .jump(let l):
                        out.append(Instruction(code: UInt16(code), jt: 0, jf: 0, k: UInt32(try target(l, from: at))))
                    case .jumpIfEqual(_, let t, let f), .jumpIfGreater(_, let t, let f), .jumpIfAnySet(_, let t, let f):
                        let form = forms[i]
                        let farTrue = form == .farTrue || form == .farBoth
                        let farFalse = form == .farFalse || form == .farBoth
                        // The `ja`s sit right after the conditional jump: true first, then false.
                        let trueJA = at + 1, falseJA = at + (farTrue ? 2 : 1)
                        let jt = farTrue ? 0 : try target(t, from: at)
                        let jf = farFalse ? falseJA - at - 1 : try target(f, from: at)
                        if jt > 255 || jf > 255 {
                            forms[i] = jt > 255 && jf > 255 ? .farBoth : jt > 255 ? (farFalse ? .farBoth : .farTrue)
                                : (farTrue ? .farBoth : .farFalse)
                            changed = true
                            continue
                        }
                        out.append(Instruction(code: UInt16(code), jt: UInt8(jt), jf: UInt8(jf), k: k))
                        if farTrue {
                            out.append(Instruction(code: UInt16(BPF_JMP | BPF_JA), jt: 0, jf: 0, k: UInt32(try target(t, from: trueJA))))
                        }
                        if farFalse {
                            out.append(Instruction(code: UInt16(BPF_JMP | BPF_JA), jt: 0, jf: 0, k: UInt32(try target(f, from: falseJA))))
                        }
                    default:
                        out.append(Instruction(code: UInt16(code), jt: 0, jf: 0, k: k))
                    }
                }
                if !changed { return out }
            }
        }

        static func length(_ step: Step, _ form: Form) -> Int {
            switch step {
            case .label: 0
            case .jumpIfEqual, .jumpIfGreater, .jumpIfAnySet:
                switch form {
                case .short: 1
                case .farTrue, .farFalse: 2
                case .farBoth: 3
                }
            default: 1
            }
        }

        static func failure(_ what: String) -> PacketIOError {
            PacketIOError(message: "cannot build the fanout program: \(what) (a bug in FanoutProgram)")
        }
    }
}
