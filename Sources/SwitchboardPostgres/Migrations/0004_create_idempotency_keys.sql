-- Idempotency-Key (CONTRACT.md, Conventions): a mutating call repeated with the same key
-- within 24 hours answers the first call's result instead of running again.
--
-- `scope` is the tenant whose key made the call, or the nil uuid for the operator API.
-- A row without `status` is a first call still running. An answer that carried a secret
-- (shown once: API keys, generated channel secrets) is not kept: `body` stays NULL and a
-- repeat is refused instead of replayed.
CREATE TABLE idempotency_keys (
    scope uuid NOT NULL,
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status integer,
    content_type text,
    body bytea,
    replayable boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (scope = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (scope = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY operator_access ON idempotency_keys
    USING (scope = '00000000-0000-0000-0000-000000000000' AND current_setting('app.operator', true) = 'on')
    WITH CHECK (scope = '00000000-0000-0000-0000-000000000000' AND current_setting('app.operator', true) = 'on');

-- Claims a key for a call, in the caller's scope: 'new' (run it), 'replay' (with the first
-- answer), 'mismatch' (the key came with another request), 'in_progress' (the first call
-- still runs) or 'not_replayable' (the first answer held a secret). A key older than
-- 24 hours is forgotten and claimed anew.
CREATE FUNCTION claim_idempotency_key(p_scope uuid, p_key text, p_hash bytea, p_now timestamptz)
RETURNS TABLE (state text, status integer, content_type text, body bytea)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_row idempotency_keys;
BEGIN
    DELETE FROM idempotency_keys k WHERE k.scope = p_scope AND k.key = p_key AND k.created_at < p_now - interval '24 hours';
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (p_scope, p_key, p_hash, p_now)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        state := 'new';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO v_row FROM idempotency_keys k WHERE k.scope = p_scope AND k.key = p_key;
    state := CASE
        WHEN v_row.request_hash <> p_hash THEN 'mismatch'
        WHEN v_row.status IS NULL THEN 'in_progress'
        WHEN NOT v_row.replayable THEN 'not_replayable'
        ELSE 'replay' END;
    status := v_row.status;
    content_type := v_row.content_type;
    body := v_row.body;
    RETURN NEXT;
END
$fn$;

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO switchboard_app;
GRANT EXECUTE ON FUNCTION claim_idempotency_key(uuid, text, bytea, timestamptz) TO switchboard_app;
