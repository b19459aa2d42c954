/// The ipvsadm commands a rules file may hold, one per line, always the line's first word
/// (ipvsadm reads the command before any option, `process_options` in ipvsadm.c).
enum RulesCommand: CaseIterable, Sendable {
    case addService
    case editService
    case deleteService
    case clear
    case addServer
    case editServer
    case deleteServer
    case setTimeouts
    /// DPVS `--add-laddr`: give a FullNAT service one more local address.
    case addLocalAddress
    /// DPVS `--del-laddr`.
    case deleteLocalAddress

    var shortName: Character? {
        switch self {
        case .addService: "A"
        case .editService: "E"
        case .deleteService: "D"
        case .clear: "C"
        case .addServer: "a"
        case .editServer: "e"
        case .deleteServer: "d"
        case .setTimeouts, .addLocalAddress, .deleteLocalAddress: nil
        }
    }

    var longName: String {
        switch self {
        case .addService: "add-service"
        case .editService: "edit-service"
        case .deleteService: "delete-service"
        case .clear: "clear"
        case .addServer: "add-server"
        case .editServer: "edit-server"
        case .deleteServer: "delete-server"
        case .setTimeouts: "set"
        case .addLocalAddress: "add-laddr"
        case .deleteLocalAddress: "del-laddr"
        }
    }

    /// `-A (--add-service)` or `--set`, for messages.
    var displayName: String {
        if let shortName { return "-\(shortName) (--\(longName))" }
        return "--\(longName)"
    }

    /// The short spelling when there is one, else the long one (`-a`, `--add-laddr`).
    var briefName: String {
        if let shortName { return "-\(shortName)" }
        return "--\(longName)"
    }

    /// Which options the command accepts and which it needs: ipvsadm's
    /// `commands_v_options` table, restricted to what a rules file expresses, plus DPVS's
    /// local-address commands.
    var optionRules: [RulesOption.Slot: Requirement] {
        switch self {
        case .addService, .editService:
            [.service: .required, .scheduler: .optional, .persistent: .optional, .netmask: .optional,
             .schedulerFlags: .optional]
        case .deleteService:
            [.service: .required]
        case .clear, .setTimeouts:
            [:]
        case .addServer, .editServer:
            [.service: .required, .realServer: .required, .forwardingMethod: .optional, .weight: .optional,
             .upperThreshold: .optional, .lowerThreshold: .optional, .tunnelType: .optional]
        case .deleteServer:
            [.service: .required, .realServer: .required]
        case .addLocalAddress, .deleteLocalAddress:
            [.service: .required, .localAddress: .required, .interfaceName: .optional]
        }
    }

    enum Requirement: Sendable { case required, optional }

    /// The command a word spells, if any.
    static func named(_ word: String) -> RulesCommand? {
        if word.hasPrefix("--") {
            let name = word.dropFirst(2)
            return allCases.first { $0.longName == name }
        }
        if word.count == 2, word.first == "-", let letter = word.last {
            return allCases.first { $0.shortName == letter }
        }
        return nil
    }

    /// ipvsadm commands that make sense at a shell prompt but not in a rules file.
    static func interactiveOnly(_ word: String) -> String? {
        switch word {
        case "-L", "-l", "--list": "lists the table"
        case "-Z", "--zero": "zeroes the counters"
        case "-R", "--restore": "reads a rules file"
        case "-S", "--save": "prints a rules file"
        case "-h", "--help": "prints help"
        case "-v", "--version": "prints the version"
        case "--start-daemon", "--stop-daemon": "controls the connection-sync daemon"
        default: nil
        }
    }
}
