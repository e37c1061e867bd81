import Foundation

/// Where the server's files are: `openapi.json` and the dashboard's folder, from the resource bundle SwiftPM builds
/// beside the executable (`swift-batch_BatchServer.resources`), or a folder named explicitly. Found without
/// `Bundle.module`, which stops the process when the bundle is missing; a missing bundle is an error said at
/// start-up instead.
public struct ServerResources: Sendable {
    /// The bundle's folder name beside the executable.
    public static let bundleName = "swift-batch_BatchServer.resources"

    /// The folder holding `openapi.json` and `Dashboard/`.
    public let directory: String
    /// The OpenAPI document, as stored.
    public let openAPI: [UInt8]

    /// The dashboard's folder.
    public var dashboard: String { directory + "/Dashboard" }

    /// Loads the resources from `directory`, or else from the bundle beside the executable.
    /// - Throws: ``APIError`` naming the places looked at when none holds `openapi.json`.
    public init(directory: String? = nil) throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let candidates =
            directory.map { [$0] } ?? [
                Bundle.main.bundleURL.appendingPathComponent(Self.bundleName).path,
                executable.deletingLastPathComponent().appendingPathComponent(Self.bundleName).path,
            ]
        for candidate in candidates {
            if let data = FileManager.default.contents(atPath: candidate + "/openapi.json") {
                self.directory = candidate
                self.openAPI = Array(data)
                return
            }
        }
        throw APIError(
            .internalServerError,
            "the server's files (openapi.json, Dashboard/) are not in \(candidates.joined(separator: " or ")); "
                + "copy \(Self.bundleName) beside the executable or pass --resources")
    }
}
