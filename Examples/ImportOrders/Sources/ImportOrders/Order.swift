import Batch
import Foundation

/// One line of the day's orders file, `order_id,customer_id,amount,status`: the reader fills each property from
/// the column its coding key names.
struct OrderLine: Decodable, Sendable {
    var orderId: Int
    var customerId: Int
    var amount: Decimal
    var status: String

    enum CodingKeys: String, CodingKey {
        case orderId = "order_id"
        case customerId = "customer_id"
        case amount, status
    }
}

/// An order as the shop's `orders` table stores it: the writer fills each column from the property of its name
/// in snake case (`orderId` fills `order_id`).
struct Order: Encodable, Sendable {
    var day: CalendarDay
    var orderId: Int
    var customerId: Int
    var amount: Decimal

    /// The order of `line`, placed on `day`.
    init(_ line: OrderLine, day: CalendarDay) {
        self.day = day
        self.orderId = line.orderId
        self.customerId = line.customerId
        self.amount = line.amount
    }
}
