/// Signs that a machine sent the message, so the agent does not answer it and two
/// auto-responders never talk to each other (RFC 3834 §5, RFC 3464).
enum AutoReply {
    static func reason(headers: MailHeaders, contentType: HeaderParameters) -> String? {
        if let value = headers.first("Auto-Submitted") {
            let kind = value.split(separator: ";").first.map { $0.trimmingWhitespace().lowercased() } ?? ""
            if kind != "no" { return "Auto-Submitted: \(kind.prefix(40))" }
        }
        for name in ["X-Autoreply", "X-Autorespond"] where headers.first(name) != nil {
            return name
        }
        if let precedence = headers.first("Precedence")?.trimmingWhitespace().lowercased(),
           ["bulk", "junk", "list"].contains(precedence) {
            return "Precedence: \(precedence)"
        }
        if headers.first("List-Id") != nil { return "List-Id" }
        if contentType.value == "multipart/report", contentType["report-type"]?.lowercased() == "delivery-status" {
            return "delivery status notification"
        }
        return nil
    }
}
