import Batch

/// Splits the customers 1…1,000 into `gridSize` contiguous ranges: one partition each, whose context holds its
/// first and last customer.
struct CustomerRanges: Partitioner {
    static let customers = 1_000

    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let size = (Self.customers + gridSize - 1) / gridSize
        var partitions: [String: ExecutionContext] = [:]
        for index in 0..<gridSize where index * size < Self.customers {
            partitions["customers-\(index + 1)"] = ExecutionContext([
                "firstCustomer": .int(Int64(index * size + 1)),
                "lastCustomer": .int(Int64(min(Self.customers, (index + 1) * size))),
            ])
        }
        return partitions
    }
}
