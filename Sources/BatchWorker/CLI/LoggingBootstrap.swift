import Logging
import Synchronization

/// The level every logger of the process logs at, unless a logger was given a level of its own: `--log-level`
/// (or `BATCH_LOG_LEVEL`) sets it once the command knows it, and loggers created before that follow too.
final class ProcessLogLevel: Sendable {
    private let raw: Atomic<UInt8>
    private let jsonFormat = Atomic<Bool>(false)

    /// Whether lines are written as JSON objects (`--log-format json`) rather than text.
    var json: Bool {
        get { jsonFormat.load(ordering: .acquiring) }
        set { jsonFormat.store(newValue, ordering: .releasing) }
    }

    /// A level setting starting at `level`.
    init(_ level: Logger.Level) {
        raw = Atomic(Self.code(level))
    }

    /// The current level.
    var level: Logger.Level {
        get { Self.level(raw.load(ordering: .acquiring)) }
        set { raw.store(Self.code(newValue), ordering: .releasing) }
    }

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 0)
    }

    private static func level(_ code: UInt8) -> Logger.Level {
        let levels = Logger.Level.allCases
        return Int(code) < levels.count ? levels[Int(code)] : .info
    }
}

/// A stream handler whose level is the process's (a ``ProcessLogLevel``) until someone sets the logger's level.
struct ProcessLevelLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let processLevel: ProcessLogLevel
    private var ownLevel: Logger.Level?
    private let label: String

    /// A handler writing through `stream` at `processLevel`'s level (or JSON lines, with `--log-format json`).
    init(stream: StreamLogHandler, processLevel: ProcessLogLevel, label: String = "") {
        self.stream = stream
        self.processLevel = processLevel
        self.label = label
    }

    /// The logger's own level if it was set, else the process's, read at each message.
    var logLevel: Logger.Level {
        get { ownLevel ?? processLevel.level }
        set { ownLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if processLevel.json {
            JSONLogLine.write(event, label: label, handlerMetadata: stream.metadata, provider: stream.metadataProvider)
        } else {
            stream.log(event: event)
        }
    }
}

/// Logs go to standard error at the process's level, bootstrapped once per process: every logger created after
/// ``once()`` — the CLI's, the libraries', a job's — honours `--log-level`.
enum LoggingBootstrap {
    /// The process's level: `warning` until the command sets it (``ConnectionOptions/logger(label:defaultLevel:)``).
    static let processLevel = ProcessLogLevel(.warning)

    private static let done: Void = LoggingSystem.bootstrap { label in
        ProcessLevelLogHandler(
            stream: StreamLogHandler.standardError(label: label), processLevel: processLevel, label: label)
    }

    /// Installs the handler (the first call does; later ones do nothing).
    static func once() { _ = done }

    /// Sets how every logger writes its lines.
    static func setFormat(_ format: LogFormat) {
        once()
        processLevel.json = format == .json
    }

    /// Sets the level of every logger that was not given one of its own.
    static func setLevel(_ level: Logger.Level) {
        once()
        processLevel.level = level
    }
}
