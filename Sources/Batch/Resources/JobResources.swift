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
    ///
    /// - Parameters:
    ///   - key: the key steps read the resource with.
    ///   - make: makes the resource.
    ///   - close: releases a resource `make` made (shuts a pool down), called by ``close()`` (see
    ///     ``JobOperator/closeResources()``).
    public mutating func set<Key: ResourceKey>(
        _ key: Key.Type, make: @escaping @Sendable () async throws -> Key.Value,
        close: (@Sendable (Key.Value) async -> Void)? = nil
    ) {
        var release: (@Sendable (any Sendable) async -> Void)?
        if let close {
            release = { @Sendable (value: any Sendable) async in
                if let value = value as? Key.Value { await close(value) }
            }
        }
        entries[ObjectIdentifier(key)] = Entry(
            name: String(reflecting: key),
            value: .lazy(LazyResource(make: { try await make() as any Sendable }, close: release)))
    }

    /// Releases what the factories made (with their `close`) and forgets it: a later request makes it again.
    /// Values registered as such are left alone: whoever made them releases them.
    public func close() async {
        for entry in entries.values {
            if case .lazy(let lazy) = entry.value { await lazy.close() }
        }
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

/// A factory run at most once at a time, whose value is kept once it succeeded (until ``close()``).
final class LazyResource: Sendable {
    private let make: @Sendable () async throws -> any Sendable
    private let release: (@Sendable (any Sendable) async -> Void)?
    private let task = Mutex<Task<any Sendable, any Error>?>(nil)

    init(
        make: @escaping @Sendable () async throws -> any Sendable,
        close: (@Sendable (any Sendable) async -> Void)?
    ) {
        self.make = make
        self.release = close
    }

    /// Forgets the value, releasing it when it was made.
    func close() async {
        guard
            let made = task.withLock({ task in
                defer { task = nil }; return task
            })
        else { return }
        guard let value = try? await made.value else { return }
        await release?(value)
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
