import CRabbitMQ
import Foundation

/// C memory that lives exactly as long as one librabbitmq call.
///
/// librabbitmq takes strings as `amqp_bytes_t` (pointer and length). A pointer from `withCString` dies at the end of
/// its closure, and a temporary Swift string's storage may move once the closure returns, so every string, table
/// and array given to the library is copied into memory owned by an arena, and the arena frees it all when the call
/// that used it has returned: `CArena.with { arena in amqp_queue_declare(..., arena.bytes(name), ...) }`.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    private init() {}

    deinit {
        for block in blocks { free(block) }
    }

    /// Runs `body` with a fresh arena, and frees the arena's memory when `body` returns.
    static func with<R>(_ body: (CArena) throws -> R) rethrows -> R {
        let arena = CArena()
        return try withExtendedLifetime(arena) { try body(arena) }
    }

    private func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard let block = malloc(max(byteCount, 1)) else { fatalError("out of memory") }
        blocks.append(block)
        return block
    }

    /// A copy of `string`'s UTF-8 bytes (not NUL-terminated).
    func bytes(_ string: String) -> amqp_bytes_t {
        var string = string
        return string.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    /// A copy of `buffer`.
    func bytes(_ buffer: UnsafeRawBufferPointer) -> amqp_bytes_t {
        guard buffer.count > 0, let base = buffer.baseAddress else { return amqp_bytes_t(len: 0, bytes: nil) }
        let block = allocate(byteCount: buffer.count)
        block.copyMemory(from: base, byteCount: buffer.count)
        return amqp_bytes_t(len: buffer.count, bytes: block)
    }

    /// A NUL-terminated copy of `string`.
    func cString(_ string: String) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8)
        let block = allocate(byteCount: utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { block[index] = CChar(bitPattern: byte) }
        block[utf8.count] = 0
        return UnsafePointer(block)
    }

    /// An AMQP field table holding `fields`; keys are written in sorted order.
    func table(_ fields: [String: AMQPFieldValue]) -> amqp_table_t {
        guard !fields.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(byteCount: MemoryLayout<amqp_table_entry_t>.stride * fields.count)
            .bindMemory(to: amqp_table_entry_t.self, capacity: fields.count)
        for (index, key) in fields.keys.sorted().enumerated() {
            entries[index] = amqp_table_entry_t(key: bytes(key), value: fieldValue(fields[key]!))
        }
        return amqp_table_t(num_entries: Int32(fields.count), entries: entries)
    }

    private func fieldValue(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        func kind(_ kind: amqp_field_value_kind_t) -> UInt8 { UInt8(kind.rawValue) }
        switch value {
        case .string(let string):
            field.kind = kind(AMQP_FIELD_KIND_UTF8)
            field.value.bytes = bytes(string)
        case .int(let int):
            field.kind = kind(AMQP_FIELD_KIND_I64)
            field.value.i64 = int
        case .bool(let bool):
            field.kind = kind(AMQP_FIELD_KIND_BOOLEAN)
            field.value.boolean = bool ? 1 : 0
        case .double(let double):
            field.kind = kind(AMQP_FIELD_KIND_F64)
            field.value.f64 = double
        case .timestamp(let seconds):
            field.kind = kind(AMQP_FIELD_KIND_TIMESTAMP)
            field.value.u64 = seconds
        case .table(let nested):
            field.kind = kind(AMQP_FIELD_KIND_TABLE)
            field.value.table = table(nested)
        case .array(let values):
            field.kind = kind(AMQP_FIELD_KIND_ARRAY)
            let entries = allocate(byteCount: MemoryLayout<amqp_field_value_t>.stride * max(values.count, 1))
                .bindMemory(to: amqp_field_value_t.self, capacity: max(values.count, 1))
            for (index, element) in values.enumerated() { entries[index] = fieldValue(element) }
            field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
        }
        return field
    }

    /// librabbitmq's basic properties for `properties`.
    func basicProperties(_ properties: AMQPProperties) -> amqp_basic_properties_t {
        var result = amqp_basic_properties_t()
        var flags: UInt32 = 0
        func set(_ value: String?, _ flag: Int32, _ write: (inout amqp_basic_properties_t, amqp_bytes_t) -> Void) {
            guard let value else { return }
            write(&result, bytes(value))
            flags |= UInt32(flag)
        }
        set(properties.contentType, AMQP_BASIC_CONTENT_TYPE_FLAG) { $0.content_type = $1 }
        set(properties.contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG) { $0.content_encoding = $1 }
        set(properties.correlationID, AMQP_BASIC_CORRELATION_ID_FLAG) { $0.correlation_id = $1 }
        set(properties.replyTo, AMQP_BASIC_REPLY_TO_FLAG) { $0.reply_to = $1 }
        set(properties.expiration, AMQP_BASIC_EXPIRATION_FLAG) { $0.expiration = $1 }
        set(properties.messageID, AMQP_BASIC_MESSAGE_ID_FLAG) { $0.message_id = $1 }
        set(properties.type, AMQP_BASIC_TYPE_FLAG) { $0.type = $1 }
        set(properties.userID, AMQP_BASIC_USER_ID_FLAG) { $0.user_id = $1 }
        set(properties.appID, AMQP_BASIC_APP_ID_FLAG) { $0.app_id = $1 }
        if !properties.headers.isEmpty {
            result.headers = table(properties.headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        result.delivery_mode = properties.persistent ? 2 : 1
        flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        if let priority = properties.priority {
            result.priority = priority
            flags |= UInt32(AMQP_BASIC_PRIORITY_FLAG)
        }
        if let timestamp = properties.timestamp {
            result.timestamp = timestamp
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        result._flags = flags
        return result
    }
}

// MARK: - Reading from librabbitmq

extension String {
    /// A copy of the bytes as a string (invalid UTF-8 is repaired).
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = ""
            return
        }
        self = String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// A copy of the bytes.
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = []
            return
        }
        self = Array(UnsafeRawBufferPointer(start: base, count: bytes.len))
    }
}

extension AMQPFieldValue {
    /// How deep tables and arrays are copied: `x-death`, the deepest header the framework reads, is two levels. What
    /// lies deeper is left out, so a hostile message nesting thousands of levels costs no deep recursion on the
    /// connection's thread.
    static let maxCopiedDepth = 8

    /// A copy of a field table (`depth` levels below the headers).
    static func fields(of table: amqp_table_t, depth: Int = 0) -> [String: AMQPFieldValue] {
        var result: [String: AMQPFieldValue] = [:]
        guard depth < maxCopiedDepth, table.num_entries > 0, let entries = table.entries else { return result }
        for index in 0..<Int(table.num_entries) {
            if let value = AMQPFieldValue(copying: entries[index].value, depth: depth + 1) {
                result[String(amqpBytes: entries[index].key)] = value
            }
        }
        return result
    }

    /// A copy of a field value; `nil` for kinds not kept (decimal, void). A table or array `depth` levels down
    /// holds nothing once ``maxCopiedDepth`` is reached.
    init?(copying field: amqp_field_value_t, depth: Int = 0) {
        switch amqp_field_value_kind_t(rawValue: UInt32(field.kind)) {
        case AMQP_FIELD_KIND_UTF8, AMQP_FIELD_KIND_BYTES: self = .string(String(amqpBytes: field.value.bytes))
        case AMQP_FIELD_KIND_BOOLEAN: self = .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8: self = .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8: self = .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16: self = .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16: self = .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32: self = .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32: self = .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64: self = .int(field.value.i64)
        case AMQP_FIELD_KIND_U64: self = .int(Int64(truncatingIfNeeded: field.value.u64))
        case AMQP_FIELD_KIND_F32: self = .double(Double(field.value.f32))
        case AMQP_FIELD_KIND_F64: self = .double(field.value.f64)
        case AMQP_FIELD_KIND_TIMESTAMP: self = .timestamp(field.value.u64)
        case AMQP_FIELD_KIND_TABLE: self = .table(AMQPFieldValue.fields(of: field.value.table, depth: depth))
        case AMQP_FIELD_KIND_ARRAY:
            var values: [AMQPFieldValue] = []
            if depth < Self.maxCopiedDepth, field.value.array.num_entries > 0, let entries = field.value.array.entries {
                for index in 0..<Int(field.value.array.num_entries) {
                    if let value = AMQPFieldValue(copying: entries[index], depth: depth + 1) { values.append(value) }
                }
            }
            self = .array(values)
        default: return nil
        }
    }
}

extension AMQPProperties {
    /// A copy of librabbitmq's basic properties.
    init(copying properties: amqp_basic_properties_t) {
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        func string(_ flag: Int32, _ bytes: amqp_bytes_t) -> String? { has(flag) ? String(amqpBytes: bytes) : nil }
        self.init(
            contentType: string(AMQP_BASIC_CONTENT_TYPE_FLAG, properties.content_type),
            contentEncoding: string(AMQP_BASIC_CONTENT_ENCODING_FLAG, properties.content_encoding),
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? AMQPFieldValue.fields(of: properties.headers) : [:],
            persistent: has(AMQP_BASIC_DELIVERY_MODE_FLAG) && properties.delivery_mode == 2,
            priority: has(AMQP_BASIC_PRIORITY_FLAG) ? properties.priority : nil,
            correlationID: string(AMQP_BASIC_CORRELATION_ID_FLAG, properties.correlation_id),
            replyTo: string(AMQP_BASIC_REPLY_TO_FLAG, properties.reply_to),
            expiration: string(AMQP_BASIC_EXPIRATION_FLAG, properties.expiration),
            messageID: string(AMQP_BASIC_MESSAGE_ID_FLAG, properties.message_id),
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? properties.timestamp : nil,
            type: string(AMQP_BASIC_TYPE_FLAG, properties.type),
            userID: string(AMQP_BASIC_USER_ID_FLAG, properties.user_id),
            appID: string(AMQP_BASIC_APP_ID_FLAG, properties.app_id)
        )
    }
}
