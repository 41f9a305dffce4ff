import ConnectorKit
import Foundation

extension FuzzTarget {
    /// The properties every input must keep. Errors are answers; only a trap, a broken
    /// property below, or (under the fuzzer) a timeout or a memory blow-up is a finding.
    ///
    /// - `verify` accepts a correctly signed body and refuses a delivery without the header,
    ///   and a correct Telegram secret or WhatsApp signature with anything appended;
    /// - `parse` gives the same answer twice (the contract says it is deterministic);
    /// - what `parse` returns is bounded by what came in: no more events than the body
    ///   could describe, no string longer than the body, finite dates; an error's text and
    ///   field are bounded too (they are logged and stored with dead letters).
    func check(_ input: FuzzInput) {
        let connector = connector
        let credentials = credentials
        let delivery = delivery(for: input)

        let verified: Bool
        do {
            try connector.verify(delivery, credentials: credentials)
            verified = true
        } catch {
            verified = false
        }
        switch input.mode {
        case .signed where input.headerLine.isEmpty:
            if !verified { broken("a correctly signed delivery was refused") }
        case .signed where self != .webhook:
            if verified { broken("a correct signature with bytes appended was accepted") }
        case .missing:
            if verified { broken("a delivery without a signature header was accepted") }
        case .signed, .raw:
            break
        }

        let first = parse(delivery, connector: connector, credentials: credentials)
        let second = parse(delivery, connector: connector, credentials: credentials)
        if first != second { broken("parse gave two different answers for the same delivery") }

        let size = input.body.count
        switch first {
        case .success(let events):
            EventBounds(bodySize: size).check(events)
        case .failure(let error):
            if error.message.utf8.count > size + 256 { broken("an error text is longer than the body") }
            if let field = error.field, field.utf8.count > size + 64 { broken("an error's field is longer than the body") }
        }
    }

    private func parse(
        _ delivery: WebhookDelivery, connector: any Connector, credentials: ChannelCredentials
    ) -> Result<[InboundEvent], ConnectorError> {
        do {
            return .success(try connector.parse(delivery, credentials: credentials))
        } catch {
            return .failure(error)
        }
    }
}

/// Stops the process with `reason`: libFuzzer takes the trap as a crash and keeps the input.
func broken(_ reason: String) -> Never {
    fatalError("ConnectorFuzz property broken: \(reason)")
}
