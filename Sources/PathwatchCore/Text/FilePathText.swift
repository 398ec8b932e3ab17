/// File path arithmetic on plain strings, as `NSString.deletingLastPathComponent` did it, so that
/// no file needs Foundation proper (issue 12: Foundation and ICU cost the idle agent ~6 MiB).
public enum FilePathText {
    /// The directory part of `path`: `/a/b` → `/a`, `/b` → `/`, `b` → `` (trailing slashes ignored).
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var directory = trimmed[..<slash]
        while directory.count > 1, directory.hasSuffix("/") { directory = directory.dropLast() }
        return String(directory)
    }

    /// `relative` read from a file in `directory`: absolute paths stay as they are.
    public static func resolve(_ relative: String, from directory: String) -> String {
        relative.hasPrefix("/") || directory.isEmpty ? relative : (directory.hasSuffix("/") ? directory : directory + "/") + relative
    }
}
