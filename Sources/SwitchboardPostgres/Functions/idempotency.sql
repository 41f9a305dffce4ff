-- Idempotency-Key: claiming a key for a mutating call.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- Claims a key for a call, in the caller's scope: 'new' (run it), 'replay' (with the first
-- answer), 'mismatch' (the key came with another request), 'in_progress' (the first call
-- still runs) or 'not_replayable' (the first answer held a secret). A key older than
-- 24 hours is forgotten and claimed anew.
CREATE OR REPLACE FUNCTION public.claim_idempotency_key(p_scope uuid, p_key text, p_hash bytea, p_now timestamp with time zone)
 RETURNS TABLE(state text, status integer, content_type text, body bytea)
 LANGUAGE plpgsql
AS $function$
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
$function$;
GRANT EXECUTE ON FUNCTION claim_idempotency_key(p_scope uuid, p_key text, p_hash bytea, p_now timestamp with time zone) TO switchboard_app;
