import Batch
import Foundation

extension JSONDecoder.DateDecodingStrategy {
    /// ISO 8601 dates parsed strictly, as the CSV reader parses them: a date (`2026-11-25`) or a date and time
    /// with optional fractional seconds and `Z` or an offset (`2026-11-25T10:00:00.250+01:00`), nothing after it
    /// and every part in range. `.iso8601` reads `2026-01-01T10:00:00Zjunk`, drops the fraction of
    /// `10:00:00.5Z` and rolls `2026-02-30` over to March; ``JSONLinesReader`` uses this strategy in its place.
    public static var strictISO8601: JSONDecoder.DateDecodingStrategy {
        .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription:
                            "expected an ISO 8601 date (2026-11-25 or 2026-11-25T10:00:00Z), found '\(text)'"
                    ))
            }
            return date
        }
    }
}

extension JSONDecoder {
    /// This decoder, or a copy of it with ``JSONDecoder/DateDecodingStrategy/strictISO8601`` when it decodes
    /// dates with the lenient `.iso8601`; the decoder passed in is left as it is.
    func withStrictDates() -> JSONDecoder {
        guard case .iso8601 = dateDecodingStrategy else { return self }
        let copy = JSONDecoder()
        copy.dateDecodingStrategy = .strictISO8601
        copy.dataDecodingStrategy = dataDecodingStrategy
        copy.nonConformingFloatDecodingStrategy = nonConformingFloatDecodingStrategy
        copy.keyDecodingStrategy = keyDecodingStrategy
        copy.userInfo = userInfo
        copy.allowsJSON5 = allowsJSON5
        copy.assumesTopLevelDictionary = assumesTopLevelDictionary
        return copy
    }
}
