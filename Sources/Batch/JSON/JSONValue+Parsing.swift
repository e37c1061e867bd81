import Foundation

extension JSONValue {
    /// The deepest nesting of arrays and objects that parsing accepts: 100 levels.
    ///
    /// `[[1]]` is two levels deep; scalars add none. Deeper text is refused (`nesting deeper than 100 levels at
    /// a.b[0]…`) rather than parsed, so that nothing recursive on a parsed value can exhaust the stack.
    public static let maximumNestingDepth = 100

    /// What parsing does with an integer (no fraction, no exponent) outside the 64-bit range.
    public enum LargeIntegerPolicy: Sendable, Hashable {
        /// Refuse it: `integer 18446744073709551616 at params.n is outside the 64-bit range`. Two different
        /// integers can never become the same value. The default, for anything that comes from outside.
        case refuse
        /// Read it as the nearest ``JSONValue/double(_:)``, for text from a store that prints every number in
        /// full: PostgreSQL `jsonb` prints the double `1e20` written by ``JSONValue/canonicalJSON`` as
        /// `100000000000000000000`.
        case nearestDouble
    }

    /// Parses JSON text strictly (RFC 8259).
    ///
    /// Refused, with a message naming what is wrong, the path to it (`at params.items[3]`) and the byte offset:
    /// syntax errors and anything after the value, a key repeated in one object, an integer outside the 64-bit
    /// range, a number too large for a `Double` (`1e400`), nesting deeper than ``maximumNestingDepth``, invalid
    /// UTF-8, unescaped control characters and lone surrogate escapes (`"\ud800"`). A number without fraction or
    /// exponent becomes ``int(_:)``, any other ``double(_:)``. A leading byte order mark is skipped.
    /// `\u0000` is accepted; ``JobParameters`` and commands refuse it.
    ///
    /// - Parameters:
    ///   - text: the JSON text.
    ///   - largeIntegers: what to do with an integer outside the 64-bit range; refuse it unless the text comes
    ///     from a store that prints doubles in full (see ``LargeIntegerPolicy``).
    /// - Throws: ``BatchError`` with code ``BatchError/Code/invalidJSON`` naming what is wrong.
    public init(parsing text: some StringProtocol, largeIntegers: LargeIntegerPolicy = .refuse) throws {
        var string = String(text)
        self = try string.withUTF8 { Self.parse($0, largeIntegers) }.get()
    }

    /// Parses JSON bytes (UTF-8) strictly, as the text one.
    ///
    /// - Throws: ``BatchError`` with code ``BatchError/Code/invalidJSON`` naming what is wrong.
    public init(parsing data: Data, largeIntegers: LargeIntegerPolicy = .refuse) throws {
        self = try data.withUnsafeBytes { Self.parse($0.assumingMemoryBound(to: UInt8.self), largeIntegers) }.get()
    }

    /// Parses JSON bytes (UTF-8) strictly, as the text one.
    ///
    /// - Throws: ``BatchError`` with code ``BatchError/Code/invalidJSON`` naming what is wrong.
    public init(parsing bytes: some Collection<UInt8>, largeIntegers: LargeIntegerPolicy = .refuse) throws {
        if let result = bytes.withContiguousStorageIfAvailable({ Self.parse($0, largeIntegers) }) {
            self = try result.get()
        } else {
            self = try Array(bytes).withUnsafeBufferPointer { Self.parse($0, largeIntegers) }.get()
        }
    }

    private static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, _ largeIntegers: LargeIntegerPolicy
    ) -> Result<JSONValue, BatchError> {
        do throws(JSONSyntaxError) {
            return .success(try JSONParser.parse(bytes, largeIntegers: largeIntegers))
        } catch {
            return .failure(BatchError(.invalidJSON, "invalid JSON: \(error.message)"))
        }
    }
}
