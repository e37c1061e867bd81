import Testing

@testable import BatchPostgres

struct PostgresBinaryBufferTests {
    @Test func integersGoInNetworkByteOrderAndRunsAsTheyAreAcrossGrowth() {
        var buffer = PostgresBinaryBuffer(capacity: 8)
        buffer.append(Int16(-1))
        buffer.append(Int32(0x0102_0304))
        buffer.append(Int64(-2))
        buffer.append(byte: 0xAB)
        let run = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        run.withUnsafeBytes { buffer.append($0) }
        buffer.append([UInt8]())
        #expect(buffer.count == 2 + 4 + 8 + 1 + 300)
        let bytes = buffer.bytes()
        #expect(Array(bytes[0..<2]) == [0xFF, 0xFF])
        #expect(Array(bytes[2..<6]) == [1, 2, 3, 4])
        #expect(Array(bytes[6..<14]) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(bytes[14] == 0xAB)
        #expect(Array(bytes[15...]) == run)
    }

    @Test func aCopyRowIsLaidOutAsTheBinaryFormatSays() throws {
        var buffer = PostgresBinaryBuffer(capacity: 0)
        #expect(try PostgresColumnArray.appendElement(.int(7), PostgresTypeOID.int4, to: &buffer))
        #expect(try PostgresColumnArray.appendElement(.text("é"), PostgresTypeOID.text, to: &buffer))
        #expect(try PostgresColumnArray.appendElement(nil, PostgresTypeOID.text, to: &buffer))
        #expect(try PostgresColumnArray.appendElement(.text("{}"), PostgresTypeOID.jsonb, to: &buffer))
        // A value without a binary form for its column: the chunk goes as text.
        #expect(try !PostgresColumnArray.appendElement(.text("1"), PostgresTypeOID.int8, to: &buffer))
        #expect(throws: PostgresError.self) {
            try PostgresColumnArray.appendElement(.int(1 << 40), PostgresTypeOID.int4, to: &buffer)
        }
        #expect(
            buffer.bytes() == [
                0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 2, 0xC3, 0xA9, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 3, 1, 0x7B, 0x7D,
            ]
        )
    }
}
