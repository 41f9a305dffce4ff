-- The team's workspace: people with roles, their sessions, invitations, two-factor
-- authentication and sign-in journal; API keys with scopes, an expiry and a per-minute
-- limit counted here (so it holds across replicas); conversations assigned to a person.
--
-- Lookups made before the tenant is known follow the rule of 0001: a global lookup lives in
-- a `*_directory` table (a person's email → tenant and user), readable one row at a time by
-- the value presented (SET LOCAL app.user_email). Sessions and invitations need no such
-- table: their tokens carry the tenant's id, and the row is found inside the tenant.

CREATE TABLE users (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    -- Lower-cased; one tenant per address (the directory below).
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320),
    name text CHECK (char_length(name) <= 200),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'analyst')),
    -- bcrypt ($2b$…); NULL until an invited person sets a password.
    password_hash text CHECK (char_length(password_hash) <= 100),
    -- The TOTP secret sealed with the master key; `pending` until a code confirms it.
    totp_secret bytea,
    totp_pending_secret bytea,
    -- The last time step a code was accepted for: a code is good once.
    totp_last_step bigint,
    -- A sign-up's owner proves the address (the link mailed, or the operator) before the
    -- trial is granted; SHA-256 of the link's secret while it waits.
    email_verified_at timestamptz,
    email_token_hash bytea CHECK (octet_length(email_token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE user_directory (
    email text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_sessions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    -- SHA-256 of the cookie's secret part.
    token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    csrf_token text NOT NULL CHECK (char_length(csrf_token) <= 100),
    source text CHECK (char_length(source) <= 100),
    user_agent text CHECK (char_length(user_agent) <= 300),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_sessions_user ON user_sessions (tenant_id, user_id);
CREATE INDEX user_sessions_expiry ON user_sessions (expires_at);

CREATE TABLE user_recovery_codes (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at timestamptz,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_invitations (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'analyst')),
    token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    invited_by text NOT NULL CHECK (char_length(invited_by) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);

-- Every sign-in attempt on a known address, and every sign-out: who, when, from where, how
-- it ended. Kept when the person is removed (the owner's record of who had access).
CREATE TABLE login_events (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    user_id uuid,
    email text NOT NULL CHECK (char_length(email) <= 320),
    outcome text NOT NULL CHECK (outcome IN (
        'signed_in', 'wrong_password', 'totp_required', 'wrong_totp', 'reused_totp', 'wrong_recovery_code',
        'recovery_code_used', 'rate_limited', 'two_factor_not_set_up', 'signed_out', 'signed_out_everywhere'
    )),
    source text CHECK (char_length(source) <= 100),
    user_agent text CHECK (char_length(user_agent) <= 300),
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_events_listing ON login_events (tenant_id, at DESC, id DESC);
-- Failed attempts on one address in the last minutes: the per-account limit.
CREATE INDEX login_events_failures ON login_events (tenant_id, email, at DESC)
    WHERE outcome IN ('wrong_password', 'wrong_totp', 'reused_totp', 'wrong_recovery_code');

-- The owner may require two-factor authentication of the whole team.
ALTER TABLE tenants ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- Keys: scopes (existing keys are `admin`), an optional expiry and per-minute limit.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{admin}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute BETWEEN 1 AND 1000000);

-- A limited key's count in its current minute: one row per key, bumped by the request that
-- authenticates with it (fixed one-minute windows).
CREATE TABLE api_key_rate (
    tenant_id uuid NOT NULL,
    key_id uuid NOT NULL,
    window_start timestamptz NOT NULL,
    count integer NOT NULL,
    PRIMARY KEY (tenant_id, key_id),
    FOREIGN KEY (tenant_id, key_id) REFERENCES api_keys (tenant_id, id) ON DELETE CASCADE
);

-- Who works a conversation, who sent an outbound message, and how far each person has read.
ALTER TABLE conversations
    ADD COLUMN assignee_user_id uuid,
    ADD FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_user_id);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_user_id, last_message_at DESC) WHERE assignee_user_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN sent_by_user_id uuid;
CREATE TABLE conversation_reads (
    tenant_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    user_id uuid NOT NULL,
    read_seq bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- One trial grant per verified address, across tenants (platform data). The address is
-- kept as its SHA-256 only, and outlives the tenant's off-boarding: a business that leaves
-- and signs up again gets no second trial.
CREATE TABLE trial_directory (
    email_sha256 text PRIMARY KEY CHECK (char_length(email_sha256) = 64),
    granted_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'user_sessions', 'user_recovery_codes', 'user_invitations', 'login_events',
                             'api_key_rate', 'conversation_reads'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
    END LOOP;
END
$$;

-- The directory: a tenant sees and writes its own people's rows; before the tenant is
-- known, a sign-in may read the one row of the address it presents.
ALTER TABLE user_directory ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_directory FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_directory
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY email_lookup ON user_directory FOR SELECT
    USING (email = NULLIF(current_setting('app.user_email', true), ''));

-- The trial directory: anyone may record a grant (a hash tells nothing); whether an address
-- had one is asked by that address.
ALTER TABLE trial_directory ENABLE ROW LEVEL SECURITY;
ALTER TABLE trial_directory FORCE ROW LEVEL SECURITY;
CREATE POLICY record_grant ON trial_directory FOR INSERT WITH CHECK (true);
CREATE POLICY email_lookup ON trial_directory FOR SELECT
    USING (email_sha256 = NULLIF(current_setting('app.email_sha256', true), ''));

GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_directory, user_sessions, user_recovery_codes, user_invitations,
    api_key_rate, conversation_reads TO switchboard_app;
GRANT SELECT, INSERT ON trial_directory TO switchboard_app;
-- The sign-in journal is append-only for the app (removed only with its tenant).
GRANT SELECT, INSERT ON login_events TO switchboard_app;

-- The owner's cross-tenant policy (0011) on the new tables, like on every other.
DO $$
DECLARE
    v_table regclass;
BEGIN
    FOR v_table IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relrowsecurity
          AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'definer_cross_tenant')
    LOOP
        EXECUTE format($p$CREATE POLICY definer_cross_tenant ON %s TO %I
            USING (current_setting('app.cross_tenant', true) = 'on')
            WITH CHECK (current_setting('app.cross_tenant', true) = 'on')$p$, v_table, current_user);
    END LOOP;
END $$;
