public import Foundation

/// The OpenAPI 3.1 description of the public surface, served at `/openapi.json`.
///
/// Kept by hand beside the routes, in `Resources/openapi.json`; a test fails when a route
/// is served that the document lacks, or the document names a route that is not served.
public enum OpenAPIDocument {
    public static func data() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "openapi", withExtension: "json")
        else {
            throw ConfigurationError("openapi.json is missing from this build")
        }
        return try Data(contentsOf: url)
    }
}
