-- Model providers and agents, who answers a conversation (the AI or a person), the
-- accounting of every model call, and the job queue's leases and wake-ups.

CREATE TABLE providers (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('openai', 'anthropic', 'gemini', 'openai_compatible', 'local')),
    base_url text CHECK (char_length(base_url) <= 2000),
    -- Where the provider processes data, for the sub-processor register.
    region text NOT NULL CHECK (region ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    -- AES-GCM sealed API key, bound to (tenant_id, id) as associated data; NULL when none.
    api_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX providers_listing ON providers (tenant_id, created_at, id);

CREATE TABLE agents (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- A provider in use cannot be deleted (the API answers 409 first).
    provider_id uuid NOT NULL,
    model text NOT NULL CHECK (char_length(model) BETWEEN 1 AND 200),
    system_prompt text NOT NULL DEFAULT '' CHECK (char_length(system_prompt) <= 100000),
    temperature double precision CHECK (temperature BETWEEN 0 AND 2),
    max_output_tokens integer CHECK (max_output_tokens BETWEEN 1 AND 100000),
    -- How many past messages of the conversation the model sees (the new one included).
    history_messages integer NOT NULL DEFAULT 20 CHECK (history_messages BETWEEN 1 AND 200),
    -- [{provider_id, model}], tried in order when the provider fails.
    fallbacks jsonb NOT NULL DEFAULT '[]',
    handoff_keywords text[] NOT NULL DEFAULT '{}',
    -- [{question, answer}]: what the `local` provider answers from.
    faq jsonb NOT NULL DEFAULT '[]',
    out_of_credits_reply text CHECK (char_length(out_of_credits_reply) <= 4000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES providers (tenant_id, id)
);
CREATE INDEX agents_listing ON agents (tenant_id, created_at, id);
CREATE INDEX agents_provider ON agents (tenant_id, provider_id);

-- A live channel's agent cannot be deleted (the API answers 409); a deleted channel lets go.
ALTER TABLE channels ADD FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id);
CREATE INDEX channels_agent ON channels (tenant_id, agent_id) WHERE agent_id IS NOT NULL;

-- Who answers: the agent (`ai`) or a person (`human`, after a handoff).
ALTER TABLE conversations
    ADD COLUMN mode text NOT NULL DEFAULT 'ai' CHECK (mode IN ('ai', 'human')),
    ADD COLUMN handoff_reason text,
    ADD COLUMN handoff_at timestamptz;

ALTER TABLE messages
    -- On an answer: the inbound message it answers, and the agent, provider and model.
    ADD COLUMN in_reply_to uuid,
    ADD COLUMN agent_id uuid,
    ADD COLUMN provider_id uuid,
    ADD COLUMN model text,
    ADD COLUMN input_tokens integer,
    ADD COLUMN cached_input_tokens integer,
    ADD COLUMN output_tokens integer,
    ADD COLUMN reasoning_tokens integer,
    ADD COLUMN latency_ms integer,
    -- On an inbound message: what became of its reply (NULL while the job waits).
    ADD COLUMN reply_status text CHECK (reply_status IN ('answered', 'handed_off', 'skipped', 'failed')),
    ADD COLUMN reply_error text;
-- Exactly one answer per inbound message, whatever the workers do.
CREATE UNIQUE INDEX messages_one_answer ON messages (tenant_id, in_reply_to) WHERE ai_generated;

-- Every call made to a model provider (and every target skipped), in the order made: the
-- record of what was asked, of whom, and at what cost in tokens.
CREATE TABLE model_calls (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    -- The inbound message being answered.
    message_id uuid NOT NULL,
    agent_id uuid,
    provider_id uuid,
    provider_kind text,
    model text NOT NULL,
    attempt integer NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
    error_code text,
    error_message text,
    input_tokens integer NOT NULL DEFAULT 0,
    cached_input_tokens integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    reasoning_tokens integer NOT NULL DEFAULT 0,
    latency_ms integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX model_calls_message ON model_calls (tenant_id, message_id);

-- The queue's leases: a taken job is `running` until `locked_until`; a worker that died
-- leaves a lease that runs out, and the job is taken again. `attempts` is the fencing
-- token: a worker finishes a job only while the attempt it took is the latest.
ALTER TABLE jobs
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN locked_by text;
CREATE UNIQUE INDEX jobs_once ON jobs (tenant_id, kind, message_id);
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';

-- Workers scan the queue across tenants (SET LOCAL app.worker = 'on'), and see nothing
-- else: every other table still needs the tenant's scope.
CREATE POLICY worker_queue ON jobs
    USING (current_setting('app.worker', true) = 'on')
    WITH CHECK (current_setting('app.worker', true) = 'on');

-- New queued jobs wake the workers of every replica (PostgreSQL folds equal notifications
-- of one transaction into one). A job inserted already taken — the send a reply worker
-- goes on to do itself — wakes no one.
CREATE FUNCTION notify_jobs() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('switchboard_jobs', '');
    RETURN NULL;
END
$fn$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION notify_jobs();

-- Takes up to p_limit ready jobs of the given kinds for one worker: queued ones whose time
-- has come (oldest first, along the partial index jobs_ready), then running ones whose
-- lease ran out (jobs_leased). Two statements, each on its own small index, rather than
-- one OR that would scan and sort.
CREATE FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamptz, p_lease interval, p_worker text)
RETURNS TABLE (tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_taken integer;
BEGIN
    PERFORM set_config('app.worker', 'on', true);
    RETURN QUERY
    UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_until = p_now + p_lease,
        locked_by = p_worker, updated_at = p_now
    FROM (
        SELECT q.tenant_id, q.id FROM jobs q
        WHERE q.status = 'queued' AND q.run_after <= p_now AND q.kind = ANY (p_kinds)
        ORDER BY q.run_after
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ) c
    WHERE j.tenant_id = c.tenant_id AND j.id = c.id
    RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts;
    GET DIAGNOSTICS v_taken = ROW_COUNT;
    IF v_taken < p_limit THEN
        RETURN QUERY
        UPDATE jobs j SET attempts = j.attempts + 1, locked_until = p_now + p_lease, locked_by = p_worker, updated_at = p_now
        FROM (
            SELECT q.tenant_id, q.id FROM jobs q
            WHERE q.status = 'running' AND q.locked_until < p_now AND q.kind = ANY (p_kinds)
            ORDER BY q.locked_until
            LIMIT p_limit - v_taken
            FOR UPDATE SKIP LOCKED
        ) c
        WHERE j.tenant_id = c.tenant_id AND j.id = c.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts;
    END IF;
    PERFORM set_config('app.worker', '', true);
END
$fn$;

-- The reply and send workers' reads and writes, one statement each (a round trip is the
-- dearest thing on the hot path). Each sets the tenant's scope itself, in the caller's
-- transaction or the statement's own, and runs as the caller: row-level security applies.
-- Writes that end a job are fenced by its attempt: a stale attempt raises SQLSTATE SBL01
-- and writes nothing.

-- Where a conversation's messages go: the conversation, its channel (kind, whether it is
-- live, the sealed credentials) and the contact's id on that channel's platform, as the
-- keys `conversation`, `channel` and `contact_external_id` of a JSON object.
CREATE FUNCTION message_target(p_tenant uuid, p_conversation uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
    SELECT jsonb_build_object(
        'conversation', jsonb_build_object(
            'id', c.id, 'channel_id', c.channel_id, 'contact_id', c.contact_id, 'chat_external_id', c.chat_external_id,
            'mode', c.mode),
        'channel', jsonb_build_object(
            'kind', ch.kind, 'live', ch.deleted_at IS NULL AND ch.enabled, 'credentials', encode(ch.credentials, 'base64')),
        'contact_external_id', (
            SELECT ci.external_id FROM contact_identities ci
            WHERE ci.tenant_id = p_tenant AND ci.contact_id = c.contact_id AND ci.channel_kind = ch.kind
            ORDER BY ci.created_at LIMIT 1))
    FROM conversations c JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
    WHERE c.tenant_id = p_tenant AND c.id = p_conversation;
$fn$;

-- Everything a reply needs, as one JSON document (NULL when the message is gone).
CREATE FUNCTION reply_context(p_tenant uuid, p_message uuid) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    v_message messages;
    v_conversation conversations;
    v_channel channels;
    v_agent agents;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT * INTO v_message FROM messages m WHERE m.tenant_id = p_tenant AND m.id = p_message;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_conversation FROM conversations c WHERE c.tenant_id = p_tenant AND c.id = v_message.conversation_id;
    SELECT * INTO v_channel FROM channels ch WHERE ch.tenant_id = p_tenant AND ch.id = v_conversation.channel_id;
    IF v_channel.agent_id IS NOT NULL THEN
        SELECT * INTO v_agent FROM agents a WHERE a.tenant_id = p_tenant AND a.id = v_channel.agent_id;
    END IF;
    RETURN message_target(p_tenant, v_conversation.id) || jsonb_build_object(
        'inbound', jsonb_build_object('id', v_message.id, 'text', v_message.text, 'external_id', v_message.external_id),
        'answered', EXISTS (SELECT 1 FROM messages a WHERE a.tenant_id = p_tenant AND a.in_reply_to = p_message AND a.ai_generated),
        'agent', CASE WHEN v_agent.id IS NULL THEN NULL ELSE to_jsonb(v_agent) - 'tenant_id' END,
        'providers', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'id', p.id, 'name', p.name, 'kind', p.kind, 'base_url', p.base_url, 'api_key', encode(p.api_key, 'base64')))
            FROM providers p
            WHERE p.tenant_id = p_tenant
              AND (p.id = v_agent.provider_id
                   OR p.id IN (SELECT (f->>'provider_id')::uuid FROM jsonb_array_elements(v_agent.fallbacks) f))), '[]'),
        'history', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('direction', h.direction, 'text', h.text, 'attachments', h.attachments,
                                                'sender', h.sender) ORDER BY h.seq)
            FROM (
                -- In a group the model is told who said what (the sender's name, else its id).
                SELECT m.direction, m.text, m.attachments, m.seq,
                       CASE WHEN v_conversation.chat_kind <> 'direct' AND m.direction = 'inbound' THEN
                           (SELECT COALESCE(ct.display_name, ct.username, ct.id::text) FROM contacts ct
                            WHERE ct.tenant_id = p_tenant AND ct.id = m.contact_id) END AS sender
                FROM messages m
                WHERE m.tenant_id = p_tenant AND m.conversation_id = v_conversation.id AND m.seq <= v_message.seq
                  AND COALESCE(m.delivery_status, '') <> 'failed'
                ORDER BY m.seq DESC LIMIT COALESCE(v_agent.history_messages, 20)
            ) h), '[]')
    );
END
$fn$;

-- Finishes a job (done, failed, or queued again at p_run_after), fenced by its attempt.
CREATE FUNCTION finish_job(p_tenant uuid, p_job uuid, p_attempt integer, p_status text, p_run_after timestamptz, p_error text)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    UPDATE jobs j SET status = p_status, run_after = COALESCE(p_run_after, j.run_after), last_error = p_error,
        locked_until = NULL, locked_by = NULL, updated_at = now()
    WHERE j.tenant_id = p_tenant AND j.id = p_job AND j.attempts = p_attempt AND j.status = 'running';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % attempt % was taken over', p_job, p_attempt USING ERRCODE = 'SBL01';
    END IF;
END
$fn$;

-- Records model calls made for an inbound message: p_calls is a JSON array of
-- {provider_id?, provider_kind?, model, attempt, error_code?, error_message?, input, cached_input, output, reasoning, latency_ms}.
CREATE FUNCTION record_model_calls(p_tenant uuid, p_message uuid, p_agent uuid, p_calls jsonb) RETURNS void
LANGUAGE sql AS $fn$
    INSERT INTO model_calls (tenant_id, id, message_id, agent_id, provider_id, provider_kind, model, attempt, outcome, error_code,
                             error_message, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms)
    SELECT p_tenant, gen_random_uuid(), p_message, p_agent, (c->>'provider_id')::uuid, c->>'provider_kind', c->>'model',
           (c->>'attempt')::int, CASE WHEN c->>'error_code' IS NULL THEN 'ok' ELSE 'error' END, c->>'error_code', c->>'error_message',
           COALESCE((c->>'input')::int, 0), COALESCE((c->>'cached_input')::int, 0), COALESCE((c->>'output')::int, 0),
           COALESCE((c->>'reasoning')::int, 0), COALESCE((c->>'latency_ms')::int, 0)
    FROM jsonb_array_elements(p_calls) c;
$fn$;

-- Stores an answer in one statement: finishes the reply job (fenced), records the calls,
-- stores the answer (one per inbound message), marks the inbound message answered, and
-- inserts its send job already taken by p_worker, so the worker sends at once. Answers
-- the new message and send job, or no row when another attempt's answer already stands.
CREATE FUNCTION store_answer(
    p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_provider uuid, p_model text, p_text text,
    p_usage jsonb, p_calls jsonb, p_worker text, p_now timestamptz, p_lease interval
) RETURNS TABLE (answer uuid, send_job uuid)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_inbound messages;
    v_answer uuid := gen_random_uuid();
    v_job uuid := gen_random_uuid();
BEGIN
    PERFORM finish_job(p_tenant, p_job, p_attempt, 'done', NULL, NULL);
    PERFORM record_model_calls(p_tenant, p_inbound, p_agent, p_calls);
    SELECT * INTO v_inbound FROM messages m WHERE m.tenant_id = p_tenant AND m.id = p_inbound;
    INSERT INTO messages (tenant_id, id, conversation_id, channel_id, direction, text, ai_generated, delivery_status, in_reply_to,
                          agent_id, provider_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms)
    VALUES (p_tenant, v_answer, v_inbound.conversation_id, v_inbound.channel_id, 'outbound', p_text, true, 'pending', p_inbound,
            p_agent, p_provider, p_model, (p_usage->>'input')::int, (p_usage->>'cached_input')::int, (p_usage->>'output')::int,
            (p_usage->>'reasoning')::int, (p_usage->>'latency_ms')::int)
    ON CONFLICT (tenant_id, in_reply_to) WHERE ai_generated DO NOTHING;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO jobs (tenant_id, id, kind, message_id, status, attempts, locked_until, locked_by)
    VALUES (p_tenant, v_job, 'send', v_answer, 'running', 1, p_now + p_lease, p_worker);
    UPDATE messages m SET reply_status = 'answered', reply_error = NULL WHERE m.tenant_id = p_tenant AND m.id = p_inbound;
    UPDATE conversations c SET last_message_at = now()
    WHERE c.tenant_id = p_tenant AND c.id = v_inbound.conversation_id AND c.last_message_at < now();
    answer := v_answer;
    send_job := v_job;
    RETURN NEXT;
END
$fn$;

-- Ends a reply job without an answer: records the calls, the inbound message's reply
-- status and error, and hands the conversation to a person when p_handoff names why.
CREATE FUNCTION settle_reply(
    p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_job_status text, p_run_after timestamptz,
    p_reply_status text, p_error text, p_handoff text, p_calls jsonb
) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM finish_job(p_tenant, p_job, p_attempt, p_job_status, p_run_after, p_error);
    PERFORM record_model_calls(p_tenant, p_inbound, p_agent, p_calls);
    UPDATE messages m SET reply_status = p_reply_status, reply_error = p_error
    WHERE m.tenant_id = p_tenant AND m.id = p_inbound AND p_reply_status IS NOT NULL;
    IF p_handoff IS NOT NULL THEN
        UPDATE conversations c SET mode = 'human', handoff_reason = p_handoff, handoff_at = now()
        WHERE c.tenant_id = p_tenant AND c.mode = 'ai'
          AND c.id = (SELECT m.conversation_id FROM messages m WHERE m.tenant_id = p_tenant AND m.id = p_inbound);
    END IF;
END
$fn$;

-- Everything a send needs, as one JSON document (NULL when the message is gone).
CREATE FUNCTION send_context(p_tenant uuid, p_message uuid) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    v_message messages;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT * INTO v_message FROM messages m WHERE m.tenant_id = p_tenant AND m.id = p_message;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN message_target(p_tenant, v_message.conversation_id) || jsonb_build_object(
        'message', jsonb_build_object(
            'id', v_message.id, 'text', v_message.text, 'delivery_status', v_message.delivery_status,
            'ai_generated', v_message.ai_generated, 'in_reply_to', v_message.in_reply_to));
END
$fn$;

-- Records a send's outcome with its job (fenced): sent (the sent-marker, with the
-- platform's id), queued again at p_run_after, or failed for good.
CREATE FUNCTION record_send(
    p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text,
    p_run_after timestamptz, p_time timestamptz
) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM finish_job(p_tenant, p_job, p_attempt,
                       CASE WHEN p_sent THEN 'done' WHEN p_run_after IS NULL THEN 'failed' ELSE 'queued' END, p_run_after, p_error);
    IF p_sent THEN
        UPDATE messages m SET delivery_status = CASE WHEN m.delivery_status IN ('delivered', 'read') THEN m.delivery_status ELSE 'sent' END,
            external_id = COALESCE(m.external_id, p_external_id), sent_at = COALESCE(m.sent_at, p_time), delivery_error = NULL
        WHERE m.tenant_id = p_tenant AND m.id = p_message;
    ELSE
        UPDATE messages m SET delivery_error = p_error,
            delivery_status = CASE WHEN p_run_after IS NULL THEN 'failed' ELSE m.delivery_status END
        WHERE m.tenant_id = p_tenant AND m.id = p_message;
    END IF;
END
$fn$;

ALTER TABLE providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE providers FORCE ROW LEVEL SECURITY;
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents FORCE ROW LEVEL SECURITY;
ALTER TABLE model_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE model_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON providers
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_isolation ON agents
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_isolation ON model_calls
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON providers, agents, model_calls TO switchboard_app;
GRANT EXECUTE ON FUNCTION claim_jobs(text[], integer, timestamptz, interval, text), message_target(uuid, uuid), reply_context(uuid, uuid),
    finish_job(uuid, uuid, integer, text, timestamptz, text), record_model_calls(uuid, uuid, uuid, jsonb),
    store_answer(uuid, uuid, integer, uuid, uuid, uuid, text, text, jsonb, jsonb, text, timestamptz, interval),
    settle_reply(uuid, uuid, integer, uuid, uuid, text, timestamptz, text, text, text, jsonb), send_context(uuid, uuid),
    record_send(uuid, uuid, integer, uuid, boolean, text, text, timestamptz, timestamptz) TO switchboard_app;
