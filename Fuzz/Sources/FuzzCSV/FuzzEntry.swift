// The libFuzzer entry point: no `main` here (libFuzzer brings its own), so this file is compiled with
// `-parse-as-library`. See scripts/fuzz-csv.

/// Runs one input: the leading bytes choose the dialect and the limits, the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    CSVFuzzCase(FuzzSettings(bytes)).run()
    return 0
}
