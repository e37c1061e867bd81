#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The two files each input is written to, in a directory of their own made at the first input (under `TMPDIR`,
/// else /dev/shm or /tmp) and removed when the process exits.
enum FuzzFiles {
    static let directory: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
        var template = Array("\(base)/fuzz-csv.XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { fail("cannot make a directory under \(base)") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        atexit {
            unlink(FuzzFiles.input)
            unlink(FuzzFiles.output)
            rmdir(FuzzFiles.directory)
        }
        return path
    }()
    /// The fuzzed file.
    static let input = directory + "/input.csv"
    /// The records written back.
    static let output = directory + "/output.csv"
}

/// Replaces `path` with `bytes`.
func writeFile(_ bytes: [UInt8], to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fail("cannot create \(path)") }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { fail("cannot write \(path)") }
        written += count
    }
}
