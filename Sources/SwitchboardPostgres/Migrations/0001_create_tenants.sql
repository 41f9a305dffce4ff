-- Tenants and their API keys: the first tenant-scoped tables.
--
-- Every tenant-owned table has tenant_id first in its primary key, and row-level security
-- ENABLEd and FORCEd with the policy below; the app role (switchboard_app) sets
-- app.tenant_id with SET LOCAL (set_config(..., true)) at the start of each transaction.

-- Tables created from now on by the migrating role are readable and writable by the app
-- role; a migration that must withhold a privilege (an append-only ledger) revokes it.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO switchboard_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO switchboard_app;

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    trial_credits_micros bigint NOT NULL DEFAULT 0 CHECK (trial_credits_micros >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A tenant sees itself. The operator API (SET LOCAL app.operator = 'on') sees every tenant.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY operator_access ON tenants
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

CREATE TABLE api_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    prefix text NOT NULL,
    key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX api_keys_listing ON api_keys (tenant_id, created_at, id);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- Authentication happens before the tenant is known: a request may read the one key row
-- whose hash it presents (SET LOCAL app.api_key_hash = '<hex sha-256>'), and nothing else.
CREATE POLICY key_lookup ON api_keys FOR SELECT
    USING (key_hash = decode(NULLIF(current_setting('app.api_key_hash', true), ''), 'hex'));

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, api_keys TO switchboard_app;
