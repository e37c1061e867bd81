extension Job {
    /// A fingerprint of the job's step structure: each step's kind and name in order, a partition step's mode and
    /// its inner step, as hex SHA-256. A manager records it with a remote partition step; a worker whose own
    /// definition of the job gives another fingerprint (a step added, renamed or of another kind) refuses its
    /// partitions rather than run something else.
    public var fingerprint: String {
        sha256Hex(steps.map(Self.describe).joined(separator: "|"))
    }

    static func describe(_ step: any JobStep) -> String {
        if let partition = step as? PartitionStep {
            return
                "partition(\(partition.name),\(partition.isRemote ? "remote" : "local"))[\(describe(partition.step))]"
        }
        return "\(String(reflecting: type(of: step)))(\(step.name))"
    }

    /// The remote partition step named `name`, if the job has one.
    func remotePartitionStep(named name: String) -> PartitionStep? {
        steps.lazy.compactMap { $0 as? PartitionStep }.first { $0.name == name && $0.isRemote }
    }
}
