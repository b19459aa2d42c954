import Foundation
import Testing

/// The package's executables as the tests find them: built next to the test bundle
/// (`swift build --build-tests` builds them too).
public enum BuiltExecutable {
    /// The built `name` (`lvsd`, `lvsadm`) in the test bundle's folder or up to three above it.
    /// Records an issue naming what to build and throws when it is missing.
    public static func require(_ name: String) throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        Issue.record("the \(name) executable was not found next to the test bundle (\(CommandLine.arguments[0])); build it with 'swift build --build-tests'")
        throw CancellationError()
    }

    /// The built `lvsd`.
    public static func lvsd() throws -> String { try require("lvsd") }

    /// The built `lvsadm`.
    public static func lvsadm() throws -> String { try require("lvsadm") }
}
