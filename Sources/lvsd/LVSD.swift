import ArgumentParser

/// `lvsd`, the SwiftLVS director: `run` (the default) forwards live traffic; `check`
/// validates a configuration; `replay` runs a capture offline.
@main
struct LVSD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lvsd",
        abstract: "SwiftLVS: a userspace Linux Virtual Server director.",
        subcommands: [RunCommand.self, CheckCommand.self, ReplayCommand.self, MakeSamplesCommand.self, LabCommand.self, RealServerCommand.self,
                      GenhashCommand.self, CleanupCommand.self, MonitorUserCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
