import ArgumentParser

/// `lvsd`, the SwiftLVS director. Only offline replay exists so far; the live director
/// (AF_PACKET rings) will be another subcommand next to it.
@main
struct LVSD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lvsd",
        abstract: "SwiftLVS: a userspace Linux Virtual Server director.",
        subcommands: [ReplayCommand.self, MakeSamplesCommand.self]
    )
}
