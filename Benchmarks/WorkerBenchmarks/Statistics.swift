import Foundation

/// `value` with `decimals` digits after the point.
func format(_ value: Double, _ decimals: Int = 1) -> String {
    String(format: "%.\(decimals)f", value)
}

/// KiB as MiB with one decimal.
func mebibytes(_ kibibytes: Int) -> String { format(Double(kibibytes) / 1_024) + " MiB" }

/// Progress on standard error, so that standard output is the report alone.
func progress(_ text: String) {
    FileHandle.standardError.write(Data("· \(text)\n".utf8))
}
