import Glibc

/// Writes to file descriptor 2 directly: one `write` per line where the kernel takes it whole,
/// so lines from several threads do not interleave, and no Foundation `FileHandle` (issue 12).
enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }  // nowhere to report a broken stderr
                offset += written
            }
        }
    }
}
