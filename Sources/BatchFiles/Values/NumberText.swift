import Batch
import Foundation

/// Strict parsing of the numbers in text fields: a field is one whole number or it is refused, never read as its
/// first part (`Decimal(string:)` alone reads "1.2.3" as 1.2, "--1" as 0 and "1,50" as 1).
///
/// The grammar is `[+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?` — no spaces, no thousands
/// separators, no hexadecimal. Floating point also takes `nan`, `inf` and `infinity` (any case, with a sign), as
/// the writers write them.
enum NumberText {
    /// What a well-formed number's text holds.
    struct Shape {
        /// The digits of the mantissa from its first non-zero digit to its last (0 for zero).
        var significantDigits: Int
    }

    /// The shape of `text` when it is a well-formed decimal number, else nil.
    static func shape(_ text: some StringProtocol) -> Shape? {
        let zero = UInt8(ascii: "0")
        let nine = UInt8(ascii: "9")
        var utf8 = text.utf8[...]
        if let first = utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { utf8 = utf8.dropFirst() }
        // Mantissa digits are numbered as they come; the significant ones run from the first non-zero to the last.
        var digitCount = 0
        var firstNonZero: Int?
        var lastNonZero = 0
        var seenPoint = false
        while let byte = utf8.first {
            if byte >= zero, byte <= nine {
                if byte != zero {
                    if firstNonZero == nil { firstNonZero = digitCount }
                    lastNonZero = digitCount
                }
                digitCount += 1
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                break
            }
            utf8 = utf8.dropFirst()
        }
        guard digitCount > 0 else { return nil }
        if let byte = utf8.first, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            utf8 = utf8.dropFirst()
            if let sign = utf8.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                utf8 = utf8.dropFirst()
            }
            guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= zero && $0 <= nine }) else { return nil }
            utf8 = utf8[utf8.endIndex...]
        }
        guard utf8.isEmpty else { return nil }
        guard let firstNonZero else { return Shape(significantDigits: 0) }
        return Shape(significantDigits: lastNonZero - firstNonZero + 1)
    }

    /// Reads numbers for ``decimal(_:)``: a point, never a comma.
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// `text` as a `Decimal`, or why it is not one.
    static func decimal(_ text: String) -> Result<Decimal, Refusal> {
        guard let shape = shape(text) else { return .failure(.malformed) }
        guard shape.significantDigits <= 38 else { return .failure(.tooPrecise) }
        guard let value = Decimal(string: text, locale: posix), !value.isNaN else {
            return .failure(.outOfRange)
        }
        guard !value.isZero || shape.significantDigits == 0 else { return .failure(.outOfRange) }
        return .success(value)
    }

    /// `text` as a binary floating-point number, or why it is not one.
    static func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ text: String, as type: T.Type
    ) -> Result<T, Refusal> {
        guard let shape = shape(text) else {
            // Not digits: perhaps one of the words the writers write (checked only here, off the usual path).
            var body = Substring(text)
            if let sign = body.first, sign == "+" || sign == "-" { body = body.dropFirst() }
            let word = body.lowercased()
            guard word == "nan" || word == "inf" || word == "infinity", let value = T(text) else {
                return .failure(.malformed)
            }
            return .success(value)
        }
        guard let value = T(text) else { return .failure(.malformed) }
        guard value.isFinite else { return .failure(.outOfRange) }
        guard !value.isZero || shape.significantDigits == 0 else { return .failure(.outOfRange) }
        return .success(value)
    }

    /// Why a text is not a number of the type asked for.
    enum Refusal: Error {
        /// Not a well-formed number.
        case malformed
        /// More significant digits than the type keeps (38 for `Decimal`).
        case tooPrecise
        /// Too large or too small (non-zero) for the type.
        case outOfRange
    }
}
