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

/// A handler writing to standard error whose level is the process's (a ``ProcessLogLevel``) until someone sets the
/// logger's level. Text lines are swift-log's `StreamLogHandler` lines, character for character (``TextLogLine``);
/// `--log-format json` writes ``JSONLogLine``s.
struct ProcessLevelLogHandler: LogHandler {
    private let processLevel: ProcessLogLevel
    private var ownLevel: Logger.Level?
    private let label: String
    /// The logger's metadata as text lines show it, made for the first line after the metadata changed rather than
    /// for every line (nor for every change: a step's logger gets several keys and may log nothing).
    private var prettyMetadata = PrettyMetadata()

    /// A handler for the logger `label` at `processLevel`'s level.
    init(label: String, processLevel: ProcessLogLevel) {
        self.label = label
        self.processLevel = processLevel
        self.metadataProvider = LoggingSystem.metadataProvider
    }

    /// The logger's own level if it was set, else the process's, read at each message.
    var logLevel: Logger.Level {
        get { ownLevel ?? processLevel.level }
        set { ownLevel = newValue }
    }

    var metadata = Logger.Metadata() {
        didSet { prettyMetadata = PrettyMetadata() }
    }

    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if processLevel.json {
            JSONLogLine.write(event, label: label, handlerMetadata: metadata, provider: metadataProvider)
        } else {
            TextLogLine.write(
                event, label: label, handlerMetadata: metadata, prettyMetadata: prettyMetadata.text(of: metadata),
                provider: metadataProvider)
        }
    }
}

/// A logger's metadata as text, made once when first needed. A handler makes a new one whenever its metadata
/// changes, so copies of a handler never share a stale text.
final class PrettyMetadata: Sendable {
    private let cached = Mutex<String??>(nil)

    /// The text of `metadata`, the handler's current metadata.
    func text(of metadata: Logger.Metadata) -> String? {
        cached.withLock { cached in
            if let cached { return cached }
            let text = TextLogLine.prettify(metadata)
            cached = .some(text)
            return text
        }
    }
}

/// Logs go to standard error at the process's level, bootstrapped once per process: every logger created after
/// ``once()`` — the CLI's, the libraries', a job's — honours `--log-level`.
enum LoggingBootstrap {
    /// The process's level: `warning` until the command sets it (``ConnectionOptions/logger(label:defaultLevel:)``).
    static let processLevel = ProcessLogLevel(.warning)

    private static let done: Void = LoggingSystem.bootstrap { label in
        ProcessLevelLogHandler(label: label, processLevel: processLevel)
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
