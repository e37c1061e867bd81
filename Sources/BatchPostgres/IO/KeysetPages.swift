/// The paging of a keyset reader: hands out a fetched page's items one by one, remembers the key of the last one
/// handed out (what a checkpoint saves and a restart resumes after), and fetches the next page when one is used up,
/// until a fetch says there is nothing after it.
struct KeysetPages<Key, Item> {
    /// The key of the last item handed out; nil before the first.
    private(set) var lastKey: Key?
    private var page: [(key: Key, item: Item)] = []
    private var index = 0
    private var isExhausted = false

    /// Starts over after `lastKey` (nil: from the start); `exhausted` when nothing can follow it.
    init(after lastKey: Key? = nil, exhausted: Bool = false) {
        self.lastKey = lastKey
        self.isExhausted = exhausted
    }

    /// The next item, calling `fetch` with the last key handed out when the page is used up; nil at the end.
    /// - Parameter fetch: the page after a key (nil: the first), and whether it is the last one.
    mutating func next(
        fetch: (Key?) async throws -> (rows: [(key: Key, item: Item)], isLast: Bool)
    ) async throws -> Item? {
        if index == page.count {
            guard !isExhausted else { return nil }
            (page, isExhausted) = try await fetch(lastKey)
            index = 0
            guard !page.isEmpty else { return nil }
        }
        let (key, item) = page[index]
        index += 1
        lastKey = key
        return item
    }
}

extension KeysetPages: Sendable where Key: Sendable, Item: Sendable {}
