@testable import BatchFiles

/// What one fuzz input asks for: its first four bytes choose the dialect, the limits, a read-buffer boundary and a
/// restart point; the remaining bytes are the file.
///
/// - byte 0: bits 0-1 the delimiter (`,` tab `;` `|`), bit 2 backslash escapes instead of quotes, bit 3 a header,
///   bit 4 ISO-8859-1 instead of UTF-8, bits 5-7: see byte 2.
/// - byte 1: bits 0-2 ``FileReaderConfiguration/maxRecordLines`` - 1, bits 3-4 the record length limit (8, 32,
///   256 bytes or 1 MiB).
/// - byte 2: when bits 6-7 and bits 5-7 of byte 0 are all set (one input in 32: a padded input takes a hundred
///   times as long), a line of padding comes first, so the data starts `byte 2 & 63` bytes before the end of the
///   reader's first read: records then cross the buffer's end and are parsed again after a refill.
/// - byte 3: after which record (or refusal) the reader is restarted from its saved position; 0 for none.
struct FuzzSettings {
    var format: CSVFormat
    var configuration: FileReaderConfiguration
    /// The file's bytes.
    var file: [UInt8]
    /// The offset of the fuzzed bytes in ``file`` (after the padding).
    var dataOffset: Int
    /// Restart after this many reads (0: never).
    var restartAfter: Int

    init(_ input: [UInt8]) {
        let header = input.prefix(4) + Array(repeating: 0, count: max(0, 4 - input.count))
        let flags = header[header.startIndex]
        let limits = header[header.startIndex + 1]
        let boundary = Int(header[header.startIndex + 2] & 63)
        restartAfter = Int(header[header.startIndex + 3])
        let delimiters: [Unicode.Scalar] = [",", "\t", ";", "|"]
        let padded = flags & 0xE0 == 0xE0 && header[header.startIndex + 2] & 0xC0 == 0xC0
        format = CSVFormat(
            delimiter: delimiters[Int(flags & 3)], escaping: flags & 4 != 0 ? .backslash : .quotes,
            hasHeader: flags & 8 != 0 && !padded, encoding: flags & 16 != 0 ? .isoLatin1 : .utf8)
        let lengths = [8, 32, 256, 1 << 20]
        configuration = FileReaderConfiguration(
            compression: FileCompression.none, maxRecordLength: lengths[Int(limits >> 3) & 3],
            maxRecordLines: Int(limits & 7) + 1)
        let data = input.dropFirst(4)
        if padded {
            // One line of padding, ending `boundary` bytes before the end of the first read.
            let padding = FileInput.readSize - boundary
            file = Array(repeating: UInt8(ascii: "p"), count: padding - 1) + [0x0A] + data
            dataOffset = padding
        } else {
            file = Array(data)
            dataOffset = 0
        }
    }
}
