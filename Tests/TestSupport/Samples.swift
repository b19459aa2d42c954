import Foundation

/// The repository's `Samples/` folder: the rules files and pcaps `lvsd make-samples` writes,
/// which the replay tests read and the command tests compare against.
public enum Samples {
    public static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Samples")
}
