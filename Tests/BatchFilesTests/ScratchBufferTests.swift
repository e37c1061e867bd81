import Testing

@testable import BatchFiles

struct ScratchBufferTests {
    @Test func appendsKeepTheirValuesAcrossGrowthAndAreReadBackByRange() {
        var buffer = ScratchBuffer<UInt8>(capacity: 4)
        let bytes = (0..<100).map { UInt8($0) }
        bytes.withUnsafeBufferPointer { buffer.append($0.baseAddress!, count: 60) }
        buffer.append(200)
        bytes.withUnsafeBufferPointer { buffer.append($0.baseAddress! + 60, count: 40) }
        #expect(buffer.count == 101)
        #expect(Array(buffer.values(in: 0..<60)) == Array(bytes[0..<60]))
        #expect(buffer[60] == 200)
        #expect(Array(buffer.values(in: 61..<101)) == Array(bytes[60..<100]))
        buffer.removeAll()
        #expect(buffer.count == 0)
        buffer.append(7)
        #expect(Array(buffer.values(in: 0..<1)) == [7])
    }
}
