import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import SwitchboardCore

/// The outermost middleware: gives every response an `X-Request-Id` (the id in every log
/// line of the request), turns every error into the JSON envelope, logs one line per
/// request, and counts requests for `/metrics`.
///
/// Errors are logged here with their detail at error level for 5xx (`Database.logDetail`:
/// a database error by its SQLSTATE and the objects involved, never the values PostgreSQL
/// quotes); the response carries only the safe message.
struct RequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteIndex
    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let domain = translate(error, request: request, context: context)
            if domain.status.code >= 500 {
                context.logger.error(
                    "request failed",
                    metadata: ["error.code": "\(domain.code)", "error.detail": "\(Database.logDetail(domain.underlying ?? error))"]
                )
            }
            response = try domain.response(from: request, context: context)
            if domain.code == .methodNotAllowed {
                response.headers[.allow] = routes.methods(matching: request.uri.path).sorted().joined(separator: ", ")
            }
        }
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, duration: elapsed)
        context.logger.info(
            "request",
            metadata: [
                "http.method": "\(request.method.rawValue)",
                "http.path": "\(request.uri.path)",
                "http.route": "\(route)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\(Double(elapsed.nanoseconds) / 1_000_000)",
            ]
        )
        return response
    }

    private func translate(_ error: any Error, request: Request, context: Context) -> SwitchboardError {
        let translated = Database.translateForHTTP(error)
        if let domain = translated as? SwitchboardError { return domain }
        if let http = translated as? any HTTPResponseError {
            // The router's own 404 (handlers throw SwitchboardError) for a path it knows
            // under other methods is a 405.
            if http.status == .notFound, http is HTTPError {
                let methods = routes.methods(matching: request.uri.path)
                if !methods.isEmpty {
                    return SwitchboardError(
                        .methodNotAllowed, "\(request.method.rawValue) is not allowed here; allowed: \(methods.sorted().joined(separator: ", "))"
                    )
                }
                return SwitchboardError(.notFound, "no route \(request.method.rawValue) \(request.uri.path)")
            }
            var domain = SwitchboardError.from(status: http.status)
            if http.status == .contentTooLarge {
                domain.message = "the request body is larger than the \(JSONBody.maximumSize / 1024) KiB limit"
            }
            return domain
        }
        return SwitchboardError(.internalError, "the request could not be completed", underlying: error)
    }
}

import SwitchboardPostgres

extension Database {
    /// Database errors in domain form; other errors unchanged.
    static func translateForHTTP(_ error: any Error) -> any Error {
        if error is SwitchboardError || error is any HTTPResponseError { return error }
        return Database.translate(error)
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
