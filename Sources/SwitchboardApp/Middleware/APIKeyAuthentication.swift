import SwitchboardCore

/// The one way a presented `sb_live_…` key becomes a tenant (the API's bearer token, the
/// dashboard's sign-in and session), with what keeps guessing cheap for us and slow for
/// the guesser:
///
/// - a key that is not well-formed is refused without the database;
/// - a well-formed key that matched nothing is remembered (`NegativeCache`, a minute, by its
///   hash) and refused again without the database; minting any key clears that memory;
/// - each refusal counts against the source address (`failures`); once its allowance is
///   spent, the source's next refusals are 429, and keys the database would have to look
///   up are not looked up until it has waited.
struct APIKeyAuthentication: Sendable {
    let store: any TenantStore
    let unknown: NegativeCache<[UInt8]>
    let failures: RateLimiter<String>

    /// The tenant behind `token`, or `nil` when it is no key. Throws `rateLimited` when
    /// `source` has failed too often.
    func principal(for token: String, source: String) async throws -> TenantPrincipal? {
        guard APIKeySecret.isWellFormed(token) else { return try refuse(source) }
        let hash = APIKeySecret.hash(token)
        if unknown.contains(hash) { return try refuse(source) }
        try failures.limited(source).check("failed authentications from this address")
        guard let principal = try await store.authenticate(keyHash: hash) else {
            unknown.insert(hash)
            return try refuse(source)
        }
        return principal
    }

    /// A key was minted: a miss remembered for it must not outlive it.
    func keyCreated() {
        unknown.removeAll()
    }

    private func refuse(_ source: String) throws -> TenantPrincipal? {
        try failures.acquire(source).check("failed authentications from this address")
        return nil
    }
}
