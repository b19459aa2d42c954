import Core
import Testing
import Wire

/// Walks every cell of IPVS's normal TCP state table (`tcp_states`, ip_vs_proto_tcp.c) and the
/// flag classification of `tcp_state_idx`.
@Suite struct TCPStateTableTests {
    /// The expected table, transcribed separately from the source in IPVS's own abbreviations.
    /// Columns are the current state: sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA.
    static let expected: [TCPDirection: [TCPFlagClass: String]] = [
        .input: [
            .syn: "sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR",
            .fin: "sCL sCW sSS sTW sTW sTW sCL sCW sLA sLI sTW",
            .ack: "sES sES sSS sES sFW sTW sCL sCW sCL sLI sES",
            .rst: "sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sSR",
        ],
        .output: [
            .syn: "sSS sES sSS sSR sSS sSS sSS sSS sSS sLI sSR",
            .fin: "sTW sFW sSS sTW sFW sTW sCL sTW sLA sLI sTW",
            .ack: "sES sES sSS sES sFW sTW sCL sCW sLA sES sES",
            .rst: "sCL sCL sSS sCL sCL sTW sCL sCL sCL sCL sCL",
        ],
        .inputOnly: [
            .syn: "sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR",
            .fin: "sCL sFW sSS sTW sFW sTW sCL sCW sLA sLI sTW",
            .ack: "sES sES sSS sES sFW sTW sCL sCW sCL sLI sES",
            .rst: "sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL",
        ],
    ]

    static let abbreviations: [String: ConnectionState] = [
        "sNO": .none, "sES": .established, "sSS": .synSent, "sSR": .synRecv, "sFW": .finWait,
        "sTW": .timeWait, "sCL": .close, "sCW": .closeWait, "sLA": .lastAck, "sLI": .listen,
        "sSA": .synAck,
    ]

    /// The column order of the rows above, spelled out rather than taken from the enum.
    static let columns = ["sNO", "sES", "sSS", "sSR", "sFW", "sTW", "sCL", "sCW", "sLA", "sLI", "sSA"]

    static func expectedRow(_ direction: TCPDirection, _ flagClass: TCPFlagClass) -> [ConnectionState] {
        let cells = expected[direction]![flagClass]!.split(separator: " ").map(String.init)
        return cells.map { abbreviations[$0]! }
    }

    @Test func columnsAreTheElevenTCPStatesInIPVSOrder() {
        #expect(Self.columns.map { Self.abbreviations[$0]! } == ConnectionState.tcpStates)
        #expect(ConnectionState.tcpStates.map(\.rawValue) == Array(0...10))
        #expect(TCPStateTable.stateCount == 11)
    }

    @Test(arguments: TCPDirection.allCases, TCPFlagClass.allCases)
    func everyCellMatchesIPVS(direction: TCPDirection, flagClass: TCPFlagClass) {
        let row = Self.expectedRow(direction, flagClass)
        #expect(row.count == 11)
        for (column, state) in ConnectionState.tcpStates.enumerated() {
            #expect(TCPStateTable.next(state, direction, flagClass) == row[column],
                    "\(direction) \(flagClass) from \(Self.columns[column])")
        }
    }

    @Test func walksAll132Cells() {
        var cells = 0
        for direction in TCPDirection.allCases {
            for flagClass in TCPFlagClass.allCases {
                let row = Self.expectedRow(direction, flagClass)
                for (column, state) in ConnectionState.tcpStates.enumerated() {
                    if TCPStateTable.next(state, direction, flagClass) == row[column] { cells += 1 }
                }
            }
        }
        #expect(cells == 3 * 4 * 11)
    }

    @Test func rawValuesAreIPVSOffsetsAndRowIndices() {
        // TCP_DIR_INPUT / OUTPUT / INPUT_ONLY are 0, 4, 8 rows into tcp_states.
        #expect(TCPDirection.allCases.map { $0.rawValue * 4 } == [0, 4, 8])
        // tcp_state_idx: syn 0, fin 1, ack 2, rst 3.
        #expect(TCPFlagClass.allCases.map(\.rawValue) == [0, 1, 2, 3])
    }

    // MARK: tcp_state_idx

    static let precedence: [(TCPFlags, TCPFlagClass?)] = [
        ([.syn, .rst], .rst),
        ([.syn, .fin], .syn),
        ([.fin, .ack], .fin),
        ([.syn, .ack], .syn),
        ([.rst, .ack], .rst),
        ([.ack, .psh], .ack),
        ([.syn], .syn),
        ([.fin], .fin),
        ([.ack], .ack),
        ([.rst], .rst),
        ([.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr], .rst),
        ([], nil),
        ([.psh], nil),
        ([.urg, .ece, .cwr, .psh], nil),
    ]

    @Test(arguments: precedence)
    func flagClassPrecedence(flags: TCPFlags, flagClass: TCPFlagClass?) {
        #expect(TCPFlagClass(flags) == flagClass)
    }

    @Test func everyFlagByteIsClassifiedRSTThenSYNThenFINThenACK() {
        for raw in UInt8.min...UInt8.max {
            let expected: TCPFlagClass? =
                raw & 0x04 != 0 ? .rst : raw & 0x02 != 0 ? .syn : raw & 0x01 != 0 ? .fin : raw & 0x10 != 0 ? .ack : nil
            #expect(TCPFlagClass(TCPFlags(rawValue: raw)) == expected, "flags 0x\(String(raw, radix: 16))")
        }
    }

    @Test func segmentWithoutClassMovesEveryStateToClose() {
        for direction in TCPDirection.allCases {
            for state in ConnectionState.tcpStates {
                #expect(TCPStateTable.next(state, direction, flags: [.psh]) == .close)
                #expect(TCPStateTable.next(state, direction, flags: []) == .close)
            }
        }
        #expect(TCPStateTable.next(.none, .input, flags: [.syn, .ack]) == .synRecv)
    }

    // MARK: Whole connections

    /// NAT: both directions pass through the director.
    @Test func natConnectionLifecycle() {
        let steps: [(TCPDirection, TCPFlags, ConnectionState)] = [
            (.input, [.syn], .synRecv),
            (.output, [.syn, .ack], .synRecv),
            (.input, [.ack], .established),
            (.input, [.ack, .psh], .established),
            (.output, [.ack], .established),
            (.input, [.fin, .ack], .closeWait),
            (.output, [.ack], .closeWait),
            (.output, [.fin, .ack], .timeWait),
            (.input, [.ack], .timeWait),
        ]
        var state = ConnectionState.none
        for (direction, flags, next) in steps {
            state = TCPStateTable.next(state, direction, flags: flags)
            #expect(state == next)
        }
    }

    /// DR/TUN: only client segments are seen, read from the INPUT-ONLY block.
    @Test func inputOnlyConnectionLifecycle() {
        let steps: [(TCPFlags, ConnectionState)] = [
            ([.syn], .synRecv),
            ([.ack], .established),
            ([.ack, .psh], .established),
            ([.fin, .ack], .finWait),
            ([.ack], .finWait),
            ([.rst], .close),
            ([.syn], .synRecv),
        ]
        var state = ConnectionState.none
        for (flags, next) in steps {
            state = TCPStateTable.next(state, .inputOnly, flags: flags)
            #expect(state == next)
        }
    }
}
