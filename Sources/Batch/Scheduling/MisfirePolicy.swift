import Foundation

/// What a schedule fires for the slots it missed (no worker was up at the slot).
public enum MisfirePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fires nothing for missed slots: only slots due within the tolerance of now.
    case skip
    /// Fires the latest missed slot once (the default).
    case once
    /// Fires each missed slot, oldest first, at most ``CronSchedule/maximumMissedSlots`` (the latest ones).
    case all
}

extension CronSchedule {
    /// The most missed slots ``MisfirePolicy/all`` fires at once: the latest ones.
    public static let maximumMissedSlots = 100

    /// The slots to fire at `now`, oldest first, and the next slot after `now`.
    ///
    /// A slot at most `tolerance` late is on time, not missed: every such slot after `lastSlot` fires whatever the
    /// policy (a slow tick must not drop one). The policy decides only for older slots after `lastSlot`, the missed
    /// ones: ``MisfirePolicy/skip`` fires none, ``MisfirePolicy/once`` the latest, ``MisfirePolicy/all`` each. At
    /// most ``maximumMissedSlots`` slots fire at once (the latest ones).
    ///
    /// - Parameters:
    ///   - lastSlot: the last slot already handled, or nil when none was: then only on-time slots fire.
    ///   - now: the current time.
    ///   - policy: what to fire for missed slots.
    ///   - tolerance: how late a slot may be and still count as on time rather than missed.
    /// - Returns: the slots to fire, in order, and the first slot strictly after `now` (nil if none).
    public func due(
        lastSlot: Date?, now: Date, policy: MisfirePolicy, tolerance: Duration = .seconds(2)
    )
        -> (fire: [Date], next: Date?)
    {
        let current = Self.seconds(flooring: now)
        let next = nextSlot(after: current).map(Self.date)
        let handled = lastSlot.map(Self.seconds(flooring:)) ?? .min
        let cutoff = Self.seconds(flooring: now.addingTimeInterval(-tolerance.timeInterval))
        // Slots in (after, through], latest first, at most `limit`.
        func slots(after: Int64, through: Int64, limit: Int) -> [Int64] {
            var found: [Int64] = []
            var cursor = through
            while found.count < limit, let slot = latestSlot(atOrBefore: cursor), slot > after {
                found.append(slot)
                cursor = slot - 1
            }
            return found
        }
        let onTime = slots(after: max(handled, cutoff), through: current, limit: Self.maximumMissedSlots)
        guard lastSlot != nil, cutoff > handled else { return (onTime.reversed().map(Self.date), next) }
        let room = Self.maximumMissedSlots - onTime.count
        let missed: [Int64]
        switch policy {
        case .skip: missed = []
        case .once: missed = slots(after: handled, through: cutoff, limit: min(1, room))
        case .all: missed = slots(after: handled, through: cutoff, limit: room)
        }
        return ((onTime + missed).reversed().map(Self.date), next)
    }
}
