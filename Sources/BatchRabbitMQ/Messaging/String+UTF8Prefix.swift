extension String {
    /// The longest prefix of whole characters that takes at most `maxBytes` bytes of UTF-8: what a header that must
    /// fit in a frame keeps of a text (`prefix(_:)` counts characters, and one character can take kilobytes).
    func utf8Prefix(_ maxBytes: Int) -> String {
        guard utf8.count > maxBytes else { return self }
        var result = ""
        var bytes = 0
        for character in self {
            let size = character.utf8.count
            guard bytes + size <= maxBytes else { break }
            bytes += size
            result.append(character)
        }
        return result
    }
}
