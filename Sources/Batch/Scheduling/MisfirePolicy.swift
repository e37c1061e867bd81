import Foundation

/// What a schedule fires for the slots it missed (no worker was up at the slot).
public enum MisfirePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fires nothing for missed slots: only a slot due within the tolerance of now.
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
    /// - Parameters:
    ///   - lastSlot: the last slot already handled, or nil when none was: then only the slot due now fires, if any
    ///     (the latest slot in `(now - tolerance, now]`), whatever the policy.
    ///   - now: the current time.
    ///   - policy: for the slots in `(lastSlot, now]`: ``MisfirePolicy/skip`` fires only the latest, and only if it
    ///     is within `tolerance` of now; ``MisfirePolicy/once`` fires the latest; ``MisfirePolicy/all`` fires every
    ///     one, at most ``maximumMissedSlots`` (the latest).
    ///   - tolerance: how late a slot may be and still count as due now rather than missed.
    /// - Returns: the slots to fire, in order, and the first slot strictly after `now` (nil if none).
    public func due(
        lastSlot: Date?, now: Date, policy: MisfirePolicy, tolerance: Duration = .seconds(2)
    )
        -> (fire: [Date], next: Date?)
    {
        let current = Self.seconds(flooring: now)
        let next = nextSlot(after: current).map(Self.date)
        guard let latest = latestSlot(atOrBefore: current) else { return ([], next) }
        let handled = lastSlot.map(Self.seconds(flooring:))
        if let handled, latest <= handled { return ([], next) }
        let (whole, fraction) = tolerance.components
        let toleranceSeconds = Double(whole) + Double(fraction) / 1e18
        let dueNow = Self.date(latest) > now.addingTimeInterval(-toleranceSeconds)
        switch (handled, policy) {
        case (nil, _), (_, .skip):
            return (dueNow ? [Self.date(latest)] : [], next)
        case (_, .once):
            return ([Self.date(latest)], next)
        case (let handled?, .all):
            var slots = [latest]
            while slots.count < Self.maximumMissedSlots,
                let earlier = latestSlot(atOrBefore: slots[slots.count - 1] - 1),
                earlier > handled
            {
                slots.append(earlier)
            }
            return (slots.reversed().map(Self.date), next)
        }
    }
}
