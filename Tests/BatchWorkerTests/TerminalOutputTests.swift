import Batch
import Foundation
import Testing

@testable import BatchWorker

/// What the CLI prints comes partly from messages anyone could send (a dead letter's body and reason, an exit message
/// quoting a parameter): none of it may act on the operator's terminal.
@Suite struct TerminalOutputTests {
    @Test("control characters print as escapes; other text, accents and emoji included, as it is")
    func controlCharactersAreShownNotObeyed() {
        #expect(
            ExecutionFormatter.printable("\u{1B}[2Jgone\r\nagain\u{7}\u{9B}")
                == #"\u{1B}[2Jgone\u{D}\u{A}again\u{7}\u{9B}"#)
        #expect(ExecutionFormatter.printable("Zürich ✓ 🚀 tab-free") == "Zürich ✓ 🚀 tab-free")
    }

    @Test("an exit message carrying an escape sequence prints escaped in the executions table")
    func theExecutionsTableEscapes() {
        let execution = JobExecution(
            id: 1, instanceId: 1, jobName: "import", parameters: JobParameters(), status: .failed,
            exitCode: "FAILED", exitMessage: "no file '\u{1B}]0;owned\u{7}'", createTime: Date(), startTime: nil,
            endTime: nil, lastUpdated: Date(), version: 1, workerId: nil, context: ExecutionContext())
        let table = ExecutionFormatter.executions([execution])
        #expect(!table.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(table.contains(#"no file '\u{1B}]0;owned\u{7}'"#))
    }
}
