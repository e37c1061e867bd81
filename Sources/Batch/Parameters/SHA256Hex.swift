import Crypto
import Foundation

/// The SHA-256 of `text`'s UTF-8 bytes as 64 lowercase hex digits (instance keys, job fingerprints).
func sha256Hex(_ text: String) -> String {
    let digest = SHA256.hash(data: Data(text.utf8))
    func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
    return String(unsafeUninitializedCapacity: 64) { buffer in
        var index = 0
        for byte in digest {
            buffer[index] = digit(byte >> 4)
            buffer[index + 1] = digit(byte & 0x0f)
            index += 2
        }
        return index
    }
}
