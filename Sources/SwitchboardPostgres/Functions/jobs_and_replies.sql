-- The job queue and the reply path: the notify trigger, the fair claim, the reply and send
-- contexts a claim reads, storing answers, model calls and sends, finishing jobs.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- The claim of the previous build, kept for replicas still running it during a rolling
-- upgrade: the fair claim with five attempts, answering the taken jobs only.
CREATE OR REPLACE FUNCTION public.claim_jobs(p_kinds text[], p_limit integer, p_now timestamp with time zone, p_lease interval, p_worker text)
 RETURNS TABLE(tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer)
 LANGUAGE plpgsql
AS $function$
BEGIN
    RETURN QUERY
    SELECT c.tenant_id, c.id, c.kind, c.message_id, c.attempts
    FROM claim_jobs(p_kinds, p_limit, p_now, p_lease, p_worker, 5) c WHERE NOT c.dead;
END
$function$;
GRANT EXECUTE ON FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamp with time zone, p_lease interval, p_worker text) TO switchboard_app;

-- Takes up to p_limit ready jobs of the given kinds for one worker, fairly across tenants,
-- and buries the jobs out of attempts. Answers the taken jobs (`dead` false) and the jobs
-- it found dead (`dead` true, not taken: for the caller's metrics and logs).
--
-- 1. A lease that ran out on the last attempt allowed (p_max_attempts; a reclaim counts
--    one) makes its job `dead`, and its message `failed` with the reason.
-- 2. Ready jobs are taken fewest-running-tenant first: each candidate's turn is its
--    tenant's running jobs plus its place in that tenant's queue. The tenants with ready
--    jobs come from one probe each of jobs_ready_by_tenant, each one's oldest jobs along
--    the same index; the chosen jobs are then locked and taken one by one by their key
--    (SKIP LOCKED: a job another claim holds or took is passed over for the next), so a
--    claim reads a few pages per waiting tenant, whatever the backlog.
-- 3. Leases that ran out with attempts left fill what is left of p_limit, as the next attempt.
--
-- Its statements keep generic plans (`plan_cache_mode`): PL/pgSQL otherwise planned the
-- candidates' statement afresh at every claim, for its parameters (0.42 ms of planning,
-- index probes included, against 0.09 ms of running it); the generic plan walks the same
-- indexes, which are chosen by their order, not by how many rows `p_now` admits.
CREATE OR REPLACE FUNCTION public.claim_jobs(p_kinds text[], p_limit integer, p_now timestamp with time zone, p_lease interval, p_worker text, p_max_attempts integer)
 RETURNS TABLE(tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer, dead boolean)
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
#variable_conflict use_column
DECLARE
    v_taken integer := 0;
    d record;
    c record;
BEGIN
    PERFORM set_config('app.worker', 'on', true);

    -- Leases that ran out on the last attempt allowed: the worker died, or ran past the
    -- job's deadline, every time. The job is dead and its message shows it.
    FOR d IN
        UPDATE jobs j SET status = 'dead', locked_until = NULL, locked_by = NULL, updated_at = p_now,
            last_error = format('gave up after %s attempts: none finished (the worker stopped or ran past the deadline)',
                                j.attempts)
        FROM (
            SELECT q.tenant_id, q.id FROM jobs q
            WHERE q.status = 'running' AND q.locked_until < p_now AND q.attempts >= p_max_attempts AND q.kind = ANY (p_kinds)
            ORDER BY q.locked_until
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, j.last_error
    LOOP
        PERFORM set_config('app.tenant_id', d.tenant_id::text, true);
        IF d.kind = 'reply' THEN
            UPDATE messages m SET reply_status = 'failed', reply_error = d.last_error
            WHERE m.tenant_id = d.tenant_id AND m.id = d.message_id AND m.reply_status IS NULL;
        ELSE
            UPDATE messages m SET delivery_status = 'failed', delivery_error = d.last_error
            WHERE m.tenant_id = d.tenant_id AND m.id = d.message_id AND COALESCE(m.delivery_status, 'pending') = 'pending';
        END IF;
        tenant_id := d.tenant_id;
        id := d.id;
        kind := d.kind;
        message_id := d.message_id;
        attempts := d.attempts;
        dead := true;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);

    -- Queued jobs whose time has come, fewest-running-tenant first: the order first...
    FOR c IN
        WITH RECURSIVE waiting (tenant_id) AS (
            -- The tenants with a ready job: one index probe each (jobs_ready_by_tenant).
            (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now ORDER BY q.tenant_id LIMIT 1)
            UNION ALL
            SELECT (SELECT q.tenant_id FROM jobs q
                    WHERE q.status = 'queued' AND q.run_after <= p_now AND q.tenant_id > w.tenant_id
                    ORDER BY q.tenant_id LIMIT 1)
            FROM waiting w WHERE w.tenant_id IS NOT NULL
        ),
        busy AS (
            -- Jobs running now, by tenant (jobs_leased; as many as there are workers at most).
            SELECT r.tenant_id, count(*)::integer AS running FROM jobs r
            WHERE r.status = 'running' AND r.locked_until >= p_now GROUP BY r.tenant_id
        )
        SELECT x.tenant_id, x.id
        FROM (
            SELECT q.tenant_id, q.id, q.run_after,
                   COALESCE(b.running, 0) + row_number() OVER (PARTITION BY q.tenant_id ORDER BY q.run_after, q.id) AS turn
            FROM waiting w
            CROSS JOIN LATERAL (
                -- Each tenant's oldest ready jobs, along jobs_ready_by_tenant.
                SELECT q.tenant_id, q.id, q.run_after FROM jobs q
                WHERE q.tenant_id = w.tenant_id AND q.status = 'queued' AND q.run_after <= p_now AND q.kind = ANY (p_kinds)
                ORDER BY q.run_after
                LIMIT p_limit) q
            LEFT JOIN busy b ON b.tenant_id = w.tenant_id
            WHERE w.tenant_id IS NOT NULL
        ) x
        ORDER BY x.turn, x.run_after
    LOOP
        -- ...then each taken by its key, unless another claim holds it or has taken it.
        UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_until = p_now + p_lease,
            locked_by = p_worker, updated_at = p_now
        FROM (SELECT q.tenant_id, q.id FROM jobs q
              WHERE q.tenant_id = c.tenant_id AND q.id = c.id AND q.status = 'queued'
              FOR UPDATE SKIP LOCKED) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts INTO tenant_id, id, kind, message_id, attempts;
        IF FOUND THEN
            dead := false;
            RETURN NEXT;
            v_taken := v_taken + 1;
            EXIT WHEN v_taken >= p_limit;
        END IF;
    END LOOP;

    -- Leases that ran out with attempts left: taken again, as the next attempt.
    IF v_taken < p_limit THEN
        RETURN QUERY
        UPDATE jobs j SET attempts = j.attempts + 1, locked_until = p_now + p_lease, locked_by = p_worker, updated_at = p_now
        FROM (
            SELECT q.tenant_id, q.id FROM jobs q
            WHERE q.status = 'running' AND q.locked_until < p_now AND q.attempts < p_max_attempts AND q.kind = ANY (p_kinds)
            ORDER BY q.locked_until
            LIMIT p_limit - v_taken
            FOR UPDATE SKIP LOCKED
        ) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, false;
    END IF;
    PERFORM set_config('app.worker', '', true);
END
$function$;
GRANT EXECUTE ON FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamp with time zone, p_lease interval, p_worker text, p_max_attempts integer) TO switchboard_app;

-- Finishes a job (done, failed, or queued again at p_run_after), fenced by its attempt.
CREATE OR REPLACE FUNCTION public.finish_job(p_tenant uuid, p_job uuid, p_attempt integer, p_status text, p_run_after timestamp with time zone, p_error text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    UPDATE jobs j SET status = p_status, run_after = COALESCE(p_run_after, j.run_after), last_error = p_error,
        locked_until = NULL, locked_by = NULL, updated_at = now()
    WHERE j.tenant_id = p_tenant AND j.id = p_job AND j.attempts = p_attempt AND j.status = 'running';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % attempt % was taken over', p_job, p_attempt USING ERRCODE = 'SBL01';
    END IF;
END
$function$;
GRANT EXECUTE ON FUNCTION finish_job(p_tenant uuid, p_job uuid, p_attempt integer, p_status text, p_run_after timestamp with time zone, p_error text) TO switchboard_app;

-- Where a conversation's messages go: the conversation, its channel (kind, whether it is
-- live, the sealed credentials) and the contact's id on that channel's platform, as the
-- keys `conversation`, `channel` and `contact_external_id` of a JSON object. The
-- conversation's `last_inbound_at` (seconds since 1970) opens its messaging window. Plain SQL in
-- PL/pgSQL so its plan is cached per session (planning cost five times its run).
CREATE OR REPLACE FUNCTION public.message_target(p_tenant uuid, p_conversation uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'conversation', jsonb_build_object(
                'id', c.id, 'channel_id', c.channel_id, 'contact_id', c.contact_id, 'chat_external_id', c.chat_external_id,
                'mode', c.mode, 'title', c.title, 'last_inbound_at', extract(epoch FROM c.last_inbound_at)),
            'channel', jsonb_build_object(
                'kind', ch.kind, 'live', ch.deleted_at IS NULL AND ch.enabled, 'credentials', encode(ch.credentials, 'base64')),
            'contact_external_id', (
                SELECT ci.external_id FROM contact_identities ci
                WHERE ci.tenant_id = p_tenant AND ci.contact_id = c.contact_id AND ci.channel_kind = ch.kind
                ORDER BY ci.created_at LIMIT 1))
        FROM conversations c JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
        WHERE c.tenant_id = p_tenant AND c.id = p_conversation);
END
$function$;
GRANT EXECUTE ON FUNCTION message_target(p_tenant uuid, p_conversation uuid) TO switchboard_app;

-- The notification of a new queued job can be held back by the transaction that inserts
-- it, when it takes its jobs itself (`app.jobs_taken_here`), and notifies for those it
-- leaves.
CREATE OR REPLACE FUNCTION public.notify_jobs()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF current_setting('app.jobs_taken_here', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('switchboard_jobs', '');
    END IF;
    RETURN NULL;
END
$function$;

-- Records model calls made for an inbound message: p_calls is a JSON array of
-- {provider_id?, provider_kind?, model, attempt, error_code?, error_message?, input,
-- cached_input, output, reasoning, latency_ms}.
CREATE OR REPLACE FUNCTION public.record_model_calls(p_tenant uuid, p_message uuid, p_agent uuid, p_calls jsonb)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO model_calls (tenant_id, id, message_id, agent_id, provider_id, provider_kind, model, attempt, outcome, error_code,
                             error_message, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms)
    SELECT p_tenant, gen_random_uuid(), p_message, p_agent, (c->>'provider_id')::uuid, c->>'provider_kind', c->>'model',
           (c->>'attempt')::int, CASE WHEN c->>'error_code' IS NULL THEN 'ok' ELSE 'error' END, c->>'error_code', c->>'error_message',
           COALESCE((c->>'input')::int, 0), COALESCE((c->>'cached_input')::int, 0), COALESCE((c->>'output')::int, 0),
           COALESCE((c->>'reasoning')::int, 0), COALESCE((c->>'latency_ms')::int, 0)
    FROM jsonb_array_elements(p_calls) c;
END
$function$;
GRANT EXECUTE ON FUNCTION record_model_calls(p_tenant uuid, p_message uuid, p_agent uuid, p_calls jsonb) TO switchboard_app;

-- Records a send's outcome with its job (fenced): sent (the sent-marker, with the
-- platform's id), queued again at p_run_after, or failed for good. The previous form,
-- for replicas of the previous build during a rolling upgrade.
CREATE OR REPLACE FUNCTION public.record_send(p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text, p_run_after timestamp with time zone, p_time timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM record_send(p_tenant, p_job, p_attempt, p_message, p_sent, p_external_id, p_error, p_run_after, p_time, NULL);
END
$function$;

-- The same with why a send failed, as a state (`p_error_code`: `reengagement_required`,
-- `undeliverable`, `rate_limited`, `credentials_rejected`, …). A platform that refused the
-- channel's token marks the channel as needing new credentials; a send that goes through
-- clears that mark.
CREATE OR REPLACE FUNCTION public.record_send(p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text, p_run_after timestamp with time zone, p_time timestamp with time zone, p_error_code text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_channel uuid;
BEGIN
    PERFORM finish_job(p_tenant, p_job, p_attempt,
                       CASE WHEN p_sent THEN 'done' WHEN p_run_after IS NULL THEN 'failed' ELSE 'queued' END, p_run_after, p_error);
    IF p_sent THEN
        UPDATE messages m SET delivery_status = CASE WHEN m.delivery_status IN ('delivered', 'read') THEN m.delivery_status ELSE 'sent' END,
            external_id = COALESCE(m.external_id, p_external_id), sent_at = COALESCE(m.sent_at, p_time), delivery_error = NULL,
            delivery_error_code = NULL
        WHERE m.tenant_id = p_tenant AND m.id = p_message
        RETURNING m.channel_id INTO v_channel;
        UPDATE channels c SET credentials_error = NULL, credentials_error_at = NULL
        WHERE c.tenant_id = p_tenant AND c.id = v_channel AND c.credentials_error IS NOT NULL;
    ELSE
        UPDATE messages m SET delivery_error = p_error, delivery_error_code = left(p_error_code, 64),
            delivery_status = CASE WHEN p_run_after IS NULL THEN 'failed' ELSE m.delivery_status END
        WHERE m.tenant_id = p_tenant AND m.id = p_message
        RETURNING m.channel_id INTO v_channel;
        IF p_error_code = 'credentials_rejected' THEN
            UPDATE channels c SET credentials_error = left(p_error, 500), credentials_error_at = p_time
            WHERE c.tenant_id = p_tenant AND c.id = v_channel;
        END IF;
    END IF;
END
$function$;
GRANT EXECUTE ON FUNCTION record_send(p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text, p_run_after timestamp with time zone, p_time timestamp with time zone, p_error_code text) TO switchboard_app;
GRANT EXECUTE ON FUNCTION record_send(p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text, p_run_after timestamp with time zone, p_time timestamp with time zone) TO switchboard_app;

-- Everything a reply needs, as one JSON document (NULL when the message is gone): where to
-- send, the inbound message, the privacy context, the prices of the chain's provider kinds,
-- whether it is answered already, the agent, its providers (keys sealed) and the history.
-- Bounded in bytes, since it runs inside the claim that serves every tenant: the inbound
-- text and each history text are cut at 16,384 characters, a history message's attachments
-- over 16 KiB are left out, a group sender's name is cut at 256 characters, and the
-- history keeps the newest messages whose sizes add up to 256 KiB at most.
CREATE OR REPLACE FUNCTION public.reply_context(p_tenant uuid, p_message uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_message messages;
    v_conversation conversations;
    v_channel channels;
    v_agent agents;
    v_chain uuid[];
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
        -- The agent's provider and its fallbacks' providers.
        v_chain := v_agent.provider_id
            || ARRAY(SELECT (f->>'provider_id')::uuid FROM jsonb_array_elements(COALESCE(v_agent.fallbacks, '[]')) f);
    END IF;
    RETURN message_target(p_tenant, v_conversation.id) || jsonb_build_object(
        'inbound', jsonb_build_object('id', v_message.id, 'text', left(v_message.text, 16384), 'external_id', v_message.external_id,
                                      'deleted', v_message.deleted_at IS NOT NULL),
        -- What the contact's rights and the tenant's policy allow, and the prices of the
        -- chain's provider kinds: read here rather than in two more transactions.
        'privacy', privacy_context(p_tenant, v_conversation.id),
        'prices', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'provider_kind', x.provider_kind, 'model', x.model, 'input', x.input_micros_per_million,
                'cached_input', x.cached_input_micros_per_million, 'output', x.output_micros_per_million,
                'reasoning', x.reasoning_micros_per_million, 'message_fee', x.message_fee_micros, 'override', x.override))
            FROM (SELECT pr.provider_kind, pr.model, pr.input_micros_per_million, pr.cached_input_micros_per_million,
                         pr.output_micros_per_million, pr.reasoning_micros_per_million, pr.message_fee_micros, false AS override
                  FROM prices pr
                  UNION ALL
                  SELECT tp.provider_kind, tp.model, tp.input_micros_per_million, tp.cached_input_micros_per_million,
                         tp.output_micros_per_million, tp.reasoning_micros_per_million, tp.message_fee_micros, true
                  FROM tenant_prices tp WHERE tp.tenant_id = p_tenant) x
            WHERE x.provider_kind IN (SELECT p.kind FROM providers p WHERE p.tenant_id = p_tenant AND p.id = ANY (v_chain))), '[]'),
        'answered', EXISTS (SELECT 1 FROM messages a WHERE a.tenant_id = p_tenant AND a.in_reply_to = p_message AND a.ai_generated),
        'agent', CASE WHEN v_agent.id IS NULL THEN NULL ELSE to_jsonb(v_agent) - 'tenant_id' END,
        'providers', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'id', p.id, 'name', p.name, 'kind', p.kind, 'base_url', p.base_url, 'api_key', encode(p.api_key, 'base64')))
            FROM providers p
            WHERE p.tenant_id = p_tenant AND p.id = ANY (v_chain)), '[]'),
        'history', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('direction', h.direction, 'text', h.text, 'attachments', h.attachments,
                                                'sender', h.sender) ORDER BY h.seq)
            FROM (
                -- The newest messages, as long as their bytes add up to 256 KiB at most. One
                -- message is at most 16,384 characters of text (64 KiB), 16 KiB of attachments
                -- and 256 characters of sender: the newest always fits.
                SELECT s.*, sum(s.size) OVER (ORDER BY s.seq DESC ROWS UNBOUNDED PRECEDING) AS running
                FROM (
                    SELECT b.*, COALESCE(octet_length(b.text), 0) + octet_length(b.attachments::text)
                                + COALESCE(octet_length(b.sender), 0) AS size
                    FROM (
                        -- In a group the model is told who said what (the sender's name, else its id).
                        SELECT m.direction, left(m.text, 16384) AS text, m.seq,
                               CASE WHEN octet_length(m.attachments::text) <= 16384 THEN m.attachments ELSE '[]'::jsonb END
                                   AS attachments,
                               CASE WHEN v_conversation.chat_kind <> 'direct' AND m.direction = 'inbound' THEN
                                   (SELECT left(COALESCE(ct.display_name, ct.username, ct.id::text), 256) FROM contacts ct
                                    WHERE ct.tenant_id = p_tenant AND ct.id = m.contact_id) END AS sender
                        FROM messages m
                        WHERE m.tenant_id = p_tenant AND m.conversation_id = v_conversation.id AND m.seq <= v_message.seq
                          AND COALESCE(m.delivery_status, '') <> 'failed' AND m.deleted_at IS NULL
                        ORDER BY m.seq DESC LIMIT COALESCE(v_agent.history_messages, 20)
                    ) b
                ) s
            ) h
            WHERE h.running <= 262144), '[]')
    );
END
$function$;
GRANT EXECUTE ON FUNCTION reply_context(p_tenant uuid, p_message uuid) TO switchboard_app;

-- Everything a send needs: where it goes, the message, and whether the contact is
-- restricted, in one document.
CREATE OR REPLACE FUNCTION public.send_context(p_tenant uuid, p_message uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
            'ai_generated', v_message.ai_generated, 'in_reply_to', v_message.in_reply_to,
            'send_tag', v_message.send_tag, 'template', v_message.template,
            -- The platform id of the message this one answers (a mail's In-Reply-To): the
            -- one it replies to, else the conversation's latest inbound one (a person's
            -- message from the inbox answers no message in particular).
            'reply_to_external_id', COALESCE(
                (SELECT m.external_id FROM messages m WHERE m.tenant_id = p_tenant AND m.id = v_message.in_reply_to),
                (SELECT m.external_id FROM messages m
                 WHERE m.tenant_id = p_tenant AND m.conversation_id = v_message.conversation_id AND m.direction = 'inbound'
                   AND m.external_id IS NOT NULL AND m.seq < v_message.seq
                 ORDER BY m.seq DESC LIMIT 1))),
        -- A restricted contact is sent nothing.
        'restricted', EXISTS (
            SELECT 1 FROM conversations v JOIN contacts c ON c.tenant_id = v.tenant_id AND c.id = v.contact_id
            WHERE v.tenant_id = p_tenant AND v.id = v_message.conversation_id AND c.restricted_at IS NOT NULL));
END
$function$;
GRANT EXECUTE ON FUNCTION send_context(p_tenant uuid, p_message uuid) TO switchboard_app;

-- Ends a reply job without an answer: records the calls, the inbound message's reply
-- status and error, and hands the conversation to a person when p_handoff names why.
CREATE OR REPLACE FUNCTION public.settle_reply(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_job_status text, p_run_after timestamp with time zone, p_reply_status text, p_error text, p_handoff text, p_calls jsonb)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
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
$function$;
GRANT EXECUTE ON FUNCTION settle_reply(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_job_status text, p_run_after timestamp with time zone, p_reply_status text, p_error text, p_handoff text, p_calls jsonb) TO switchboard_app;

-- Stores an answer in one statement: finishes the reply job (fenced), records the calls,
-- stores the answer (one per inbound message), marks the inbound message answered, and
-- inserts its send job already taken by p_worker, so the worker sends at once. Answers
-- the new message and send job, or no row when another attempt's answer already stands.
CREATE OR REPLACE FUNCTION public.store_answer(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_provider uuid, p_model text, p_text text, p_usage jsonb, p_calls jsonb, p_worker text, p_now timestamp with time zone, p_lease interval)
 RETURNS TABLE(answer uuid, send_job uuid)
 LANGUAGE plpgsql
AS $function$
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
$function$;
GRANT EXECUTE ON FUNCTION store_answer(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_provider uuid, p_model text, p_text text, p_usage jsonb, p_calls jsonb, p_worker text, p_now timestamp with time zone, p_lease interval) TO switchboard_app;

-- One tool call of an agent's loop, on its inbound message: recorded, and its action done,
-- in one transaction, once per (message, round, call id). A call already recorded (a
-- retried reply) is not done again: its stored result is answered with `performed` false.
-- p_action is {kind: contact_update, name?, phone?, email?, tags?} | {kind: note_add, text}
-- | {kind: handoff} | {kind: close_conversation}, or NULL for a refused call (p_is_error,
-- p_result says why). An action that fails is recorded as an error result, and nothing of
-- it stays. Answers {result, is_error, performed}.
CREATE OR REPLACE FUNCTION public.run_agent_tool(p_tenant uuid, p_message uuid, p_contact uuid, p_round integer, p_call_id text, p_name text, p_arguments text, p_action jsonb, p_result text, p_is_error boolean)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_done message_tool_calls;
    v_result text := left(p_result, 4096);
    v_error boolean := p_is_error;
    -- What the call does: a retried round's model names its calls anew, and may space its
    -- arguments otherwise; the key is the tool and the arguments as jsonb writes them.
    v_key text;
BEGIN
    BEGIN
        v_key := md5(left(p_name, 256) || chr(31) || (left(p_arguments, 16384)::jsonb)::text);
    EXCEPTION WHEN OTHERS THEN
        v_key := md5(left(p_name, 256) || chr(31) || left(p_arguments, 16384));
    END;
    INSERT INTO message_tool_calls (tenant_id, id, message_id, round, call_id, call_key, name, arguments, result, is_error)
    VALUES (p_tenant, gen_random_uuid(), p_message, p_round, left(p_call_id, 256), v_key, left(p_name, 256), left(p_arguments, 16384),
            v_result, v_error)
    ON CONFLICT (tenant_id, message_id, round, call_key) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO v_done FROM message_tool_calls t
        WHERE t.tenant_id = p_tenant AND t.message_id = p_message AND t.round = p_round AND t.call_key = v_key;
        RETURN jsonb_build_object('result', v_done.result, 'is_error', v_done.is_error, 'performed', false);
    END IF;
    IF p_action IS NOT NULL AND NOT v_error THEN
        BEGIN
            IF p_action->>'kind' = 'contact_update' THEN
                UPDATE contacts c SET
                    display_name = CASE WHEN p_action ? 'name' THEN p_action->>'name' ELSE c.display_name END,
                    phone = CASE WHEN p_action ? 'phone' THEN p_action->>'phone' ELSE c.phone END,
                    email = CASE WHEN p_action ? 'email' THEN p_action->>'email' ELSE c.email END,
                    tags = CASE WHEN p_action ? 'tags' THEN ARRAY(SELECT jsonb_array_elements_text(p_action->'tags')) ELSE c.tags END,
                    updated_at = now()
                WHERE c.tenant_id = p_tenant AND c.id = p_contact;
                IF NOT FOUND THEN
                    v_result := 'the contact no longer exists';
                    v_error := true;
                END IF;
            ELSIF p_action->>'kind' = 'note_add' THEN
                INSERT INTO notes (tenant_id, id, contact_id, body) VALUES (p_tenant, gen_random_uuid(), p_contact, p_action->>'text');
            END IF;
        EXCEPTION WHEN OTHERS THEN
            v_result := 'the action failed: ' || left(SQLERRM, 200);
            v_error := true;
        END;
        IF v_error THEN
            UPDATE message_tool_calls t SET result = v_result, is_error = true
            WHERE t.tenant_id = p_tenant AND t.message_id = p_message AND t.round = p_round AND t.call_key = v_key;
        END IF;
    END IF;
    RETURN jsonb_build_object('result', v_result, 'is_error', v_error, 'performed', true);
END
$function$;
GRANT EXECUTE ON FUNCTION run_agent_tool(p_tenant uuid, p_message uuid, p_contact uuid, p_round integer, p_call_id text, p_name text, p_arguments text, p_action jsonb, p_result text, p_is_error boolean) TO switchboard_app;
