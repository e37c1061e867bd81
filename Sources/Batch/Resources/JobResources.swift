import Synchronization

/// Application resources by ``ResourceKey``: values, or factories run once on first use and then shared.
///
/// A job's resources (``Job/resource(_:_:)``) are laid over its operator's (``JobOperator/resources``); a step sees
/// the result as ``StepContext/resources`` and reads it with ``StepContext/resource(_:)``.
public struct JobResources: Sendable {
    private var entries: [ObjectIdentifier: Entry] = [:]

    /// No resources.
    public init() {}

    /// Registers `value` under `key`, replacing what was registered there.
    public mutating func set<Key: ResourceKey>(_ key: Key.Type, to value: Key.Value) {
        entries[ObjectIdentifier(key)] = Entry(name: String(reflecting: key), value: .value(value))
    }

    /// Registers `value` under its own type: read it back with ``resource(ofType:)``.
    public mutating func set<Value: Sendable>(_ value: Value) {
        set(TypeResourceKey<Value>.self, to: value)
    }

    /// Registers a factory under `key`: it runs once, when a step first asks for the resource, and its value is
    /// shared from then on (by every execution of the jobs that hold these resources). When it throws, the step
    /// that asked fails and the next request tries again.
    public mutating func set<Key: ResourceKey>(
        _ key: Key.Type, make: @escaping @Sendable () async throws -> Key.Value
    ) {
        entries[ObjectIdentifier(key)] = Entry(
            name: String(reflecting: key), value: .lazy(LazyResource { try await make() as any Sendable }))
    }

    /// Whether something is registered under `key`.
    public func contains<Key: ResourceKey>(_ key: Key.Type) -> Bool {
        entries[ObjectIdentifier(key)] != nil
    }

    /// The resource registered under `key` (made now if it is registered as a factory that has not run yet).
    /// - Throws: ``BatchError/Code/missingResource`` when nothing is registered under `key` or its factory fails.
    public func resource<Key: ResourceKey>(_ key: Key.Type) async throws -> Key.Value {
        guard let entry = entries[ObjectIdentifier(key)] else {
            throw BatchError(
                .missingResource,
                "no resource \(String(reflecting: key)) is registered: register it on the job "
                    + "(.resource(\(key).self, ...)) or on the JobOperator (resources:)")
        }
        let value: any Sendable
        switch entry.value {
        case .value(let stored):
            value = stored
        case .lazy(let lazy):
            do {
                value = try await lazy.value()
            } catch {
                throw BatchError(
                    .missingResource, "could not make resource \(entry.name): \(error.batchDescription)",
                    underlying: error)
            }
        }
        guard let typed = value as? Key.Value else {
            throw BatchError(.missingResource, "resource \(entry.name) is not a \(Key.Value.self)")
        }
        return typed
    }

    /// The resource registered by its type with ``set(_:)``.
    /// - Throws: ``BatchError/Code/missingResource`` when none is registered.
    public func resource<Value: Sendable>(ofType type: Value.Type) async throws -> Value {
        try await resource(TypeResourceKey<Value>.self)
    }

    /// These resources with `other`'s laid over them (where both register a key, `other` wins).
    public func overlaid(with other: JobResources) -> JobResources {
        var result = self
        result.entries.merge(other.entries) { _, new in new }
        return result
    }

    private struct Entry: Sendable {
        let name: String
        let value: Stored
    }

    private enum Stored: Sendable {
        case value(any Sendable)
        case lazy(LazyResource)
    }
}

/// A factory run at most once at a time, whose value is kept once it succeeded.
final class LazyResource: Sendable {
    private let make: @Sendable () async throws -> any Sendable
    private let task = Mutex<Task<any Sendable, any Error>?>(nil)

    init(_ make: @escaping @Sendable () async throws -> any Sendable) {
        self.make = make
    }

    /// The value: made by the first caller, awaited by the others; a failure is forgotten so a later call retries.
    func value() async throws -> any Sendable {
        let current = task.withLock { task in
            if let task { return task }
            let started = Task { try await make() }
            task = started
            return started
        }
        do {
            return try await current.value
        } catch {
            task.withLock { if $0 == current { $0 = nil } }
            throw error
        }
    }
}
