-- Ingest: a delivery's events into contacts, identities, conversations, messages and reply
-- jobs — one statement per batch, taking jobs for free workers on the way.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- The batch without taking, kept for replicas still running the previous build during a
-- rolling upgrade: the same function taking none, so one body does the work.
CREATE OR REPLACE FUNCTION public.ingest_deliveries(p_batch jsonb)
 RETURNS TABLE(delivery integer, event_id text, created boolean, message_id uuid)
 LANGUAGE plpgsql
AS $function$
BEGIN
    RETURN QUERY
    SELECT t.delivery, t.event_id, t.created, t.message_id FROM ingest_deliveries(p_batch, 0, now(), interval '0', '') t;
END
$function$;
GRANT EXECUTE ON FUNCTION ingest_deliveries(p_batch jsonb) TO switchboard_app;

-- Takes, in one global order, a transaction-scoped advisory lock for every contact identity
-- and chat a batch of deliveries (`[{tenant, kind, events}]`) names, before any row is
-- touched. A delivery may carry several people's messages in any order (Meta batches
-- them), and two concurrent batches naming the same people in opposite orders would
-- otherwise lock their rows crosswise and deadlock. The locks are ordered by their keys,
-- so every batch waits in the same order; a key's collision only serializes two batches
-- needlessly. Held to the commit; taking one again in the same transaction is free.
CREATE OR REPLACE FUNCTION public.ingest_lock_people(p_batch jsonb)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_key integer;
BEGIN
    FOR v_key IN
        SELECT DISTINCT hashtext(((d->>'tenant')::uuid)::text || '|' || (d->>'kind') || '|' || x.id)
        FROM jsonb_array_elements(p_batch) d
        CROSS JOIN LATERAL jsonb_array_elements(d->'events') e
        CROSS JOIN LATERAL (
            SELECT 's:' || (e->'sender'->>'external_id') WHERE e->'sender'->>'external_id' IS NOT NULL
            UNION ALL
            SELECT 'c:' || (e->'chat'->>'external_id') WHERE e->'chat'->>'external_id' IS NOT NULL
            UNION ALL
            SELECT 's:' || a FROM jsonb_array_elements_text(
                CASE WHEN jsonb_typeof(e->'sender'->'alternate_ids') = 'array' THEN e->'sender'->'alternate_ids' ELSE '[]' END) a
        ) x(id)
        ORDER BY 1
    LOOP
        -- 19: this lock's class (the two-key space; the one-key locks are another space).
        PERFORM pg_advisory_xact_lock(19, v_key);
    END LOOP;
END
$function$;
GRANT EXECUTE ON FUNCTION ingest_lock_people(p_batch jsonb) TO switchboard_app;

-- Ingests a batch of deliveries (each `{tenant, channel, kind, payload, events, cursor?,
-- lease_owner?}`) in one
-- statement, and takes up to p_take of the new messages' reply jobs for the calling
-- process's free workers, each with its reply context: the worker starts at once, with no
-- notification, claim or context query. A job is taken at ingest only while no other
-- tenant has a ready job waiting — then the free worker goes to the fair claim instead, and
-- the job is notified like any other. Answers a row per event, in order.
CREATE OR REPLACE FUNCTION public.ingest_deliveries(p_batch jsonb, p_take integer, p_now timestamp with time zone, p_lease interval, p_worker text)
 RETURNS TABLE(delivery integer, event_id text, created boolean, message_id uuid, job_id uuid, job_attempts integer, document text)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    d jsonb;
    r record;
    i integer := 0;
    j integer;
    v_tenant uuid;
    v_taken integer := 0;
    v_left boolean := false;
    v_checked uuid;
    v_others boolean := false;
BEGIN
    PERFORM set_config('app.jobs_taken_here', 'on', true);
    PERFORM ingest_lock_people(p_batch);
    FOR d IN SELECT * FROM jsonb_array_elements(p_batch) LOOP
        v_tenant := (d->>'tenant')::uuid;
        j := 0;
        FOR r IN SELECT * FROM ingest_delivery(v_tenant, (d->>'channel')::uuid, d->>'kind', d->>'payload', d->'events')
        LOOP
            delivery := i;
            event_id := r.event_id;
            created := r.created;
            message_id := r.message_id;
            job_id := NULL;
            job_attempts := NULL;
            document := NULL;
            -- ingest_delivery answers a row per event, in order; a new message's row is the
            -- one whose event enqueued a reply job.
            IF r.created AND r.message_id IS NOT NULL AND d->'events'->j->>'kind' = 'message'
               AND NOT COALESCE((d->'events'->j->>'from_business')::boolean, false) THEN
                IF v_taken < p_take AND v_checked IS DISTINCT FROM v_tenant THEN
                    -- Two probes of jobs_ready_by_tenant, once per tenant of the batch: the
                    -- nearest tenant below and above with a ready job (ordered by tenant, so
                    -- the plan walks that index, not a long backlog along jobs_ready).
                    PERFORM set_config('app.worker', 'on', true);
                    v_others := (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now
                                 AND q.tenant_id < v_tenant ORDER BY q.tenant_id DESC LIMIT 1) IS NOT NULL
                             OR (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now
                                 AND q.tenant_id > v_tenant ORDER BY q.tenant_id LIMIT 1) IS NOT NULL;
                    PERFORM set_config('app.worker', '', true);
                    v_checked := v_tenant;
                END IF;
                IF v_taken < p_take AND NOT v_others THEN
                    UPDATE jobs jb SET status = 'running', attempts = jb.attempts + 1, locked_until = p_now + p_lease,
                        locked_by = p_worker, updated_at = p_now
                    WHERE jb.tenant_id = v_tenant AND jb.kind = 'reply' AND jb.message_id = r.message_id
                      AND jb.status = 'queued'
                    RETURNING jb.id, jb.attempts INTO job_id, job_attempts;
                END IF;
                IF job_id IS NULL THEN
                    v_left := true;
                ELSE
                    v_taken := v_taken + 1;
                    document := reply_context(v_tenant, r.message_id)::text;
                END IF;
            END IF;
            RETURN NEXT;
            j := j + 1;
        END LOOP;
        -- A pulled channel's cursor moves in the transaction that stores what it covers:
        -- a crash before the commit fetches the same messages again (and dedupes them), and
        -- never skips one. Only while the saving replica still holds the channel's lease.
        IF d ? 'cursor' THEN
            UPDATE channels c SET pull_cursor = d->>'cursor'
            WHERE c.tenant_id = v_tenant AND c.id = (d->>'channel')::uuid
              AND c.pull_owner IS NOT DISTINCT FROM d->>'lease_owner';
        END IF;
        i := i + 1;
    END LOOP;
    PERFORM set_config('app.jobs_taken_here', '', true);
    IF v_left THEN
        PERFORM pg_notify('switchboard_jobs', '');
    END IF;
END
$function$;
GRANT EXECUTE ON FUNCTION ingest_deliveries(p_batch jsonb, p_take integer, p_now timestamp with time zone, p_lease interval, p_worker text) TO switchboard_app;

-- Ingest of one verified, parsed delivery, in the caller's transaction: one statement,
-- so a delivery costs one round trip. `events` is a JSON array of normalized events:
--   {event_id, kind, message_id?, sender?: {external_id, name?, username?, phone?,
--    email?, language?, alternate_ids?: []}, chat?: {external_id, kind, title?},
--    text?, attachments?: [], sent_at?, status?, status_error?, ignored_reason?,
--    payload?, thread_keys?: [], match_title?, no_reply?, reply_limit?, from_business?,
--    lookup_profile?}
-- An event's own `payload` (one mail of a fetched batch) is kept instead of the delivery's.
-- A message finds its conversation by the first of: a message of the channel whose
-- platform id is one of its `thread_keys` (a mail's In-Reply-To and References, newest
-- first), the open conversation of its chat, and with `match_title` the contact's open
-- conversation of the same title (a reply that lost its references but kept its
-- subject). A message with `no_reply` (why: an auto-reply, a bounce), or past its
-- contact's `reply_limit` inbound messages on the channel within the hour (two
-- auto-responders answering each other), is stored as skipped and gets no reply job.
-- A message `from_business` (a platform's echo of what the business sent, from here or
-- from the platform's own app) is stored as sent by a person at the business and never
-- answered; the echo of a message sent from here finds it by its platform id and adds
-- nothing. An inbound message moves its conversation's `last_inbound_at` (the messaging
-- window; a platform time ahead of ours counts as now, so a wrong clock cannot hold the
-- window open). A new contact whose platform gave no name, on a channel that looks profiles up
-- (`lookup_profile`), is marked for the look-up. A `delete` marks the message withdrawn;
-- a `status` without a message id (a read watermark) moves every earlier message of the
-- chat.
-- Answers one row per event: its event id, whether it was new, and the message it made
-- or touched. Runs as the caller (SECURITY INVOKER): row-level security applies.
CREATE OR REPLACE FUNCTION public.ingest_delivery(p_tenant uuid, p_channel uuid, p_channel_kind text, p_payload text, p_events jsonb)
 RETURNS TABLE(event_id text, created boolean, message_id uuid)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    e jsonb;
    v_kind text;
    v_event uuid;
    v_contact uuid;
    v_identity text;
    v_conversation uuid;
    v_message uuid;
    v_chat text;
    v_sent timestamptz;
    v_previous text;
    v_alt text;
    v_skip text;
    v_limit integer;
    v_echo boolean;
    v_existing uuid;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    -- (Inside ingest_deliveries the batch holds these already.)
    PERFORM ingest_lock_people(jsonb_build_array(jsonb_build_object('tenant', p_tenant, 'kind', p_channel_kind, 'events', p_events)));
    FOR e IN SELECT * FROM jsonb_array_elements(p_events) LOOP
        v_kind := e->>'kind';
        event_id := e->>'event_id';
        message_id := NULL;
        v_message := NULL;
        v_sent := COALESCE((e->>'sent_at')::timestamptz, now());
        v_echo := v_kind = 'message' AND COALESCE((e->>'from_business')::boolean, false);

        -- Dedupe: claim the event id; a redelivery finds it taken and changes nothing. A new
        -- message's id is chosen here, so the event row is written once.
        v_event := gen_random_uuid();
        IF v_kind = 'message' THEN
            v_message := gen_random_uuid();
        END IF;
        INSERT INTO inbound_events AS ie (tenant_id, id, channel_id, event_id, kind, message_id, ignored_reason, payload)
        VALUES (p_tenant, v_event, p_channel, e->>'event_id', v_kind, v_message, e->>'ignored_reason',
                COALESCE(e->>'payload', p_payload))
        ON CONFLICT (tenant_id, channel_id, event_id) DO NOTHING;
        IF NOT FOUND THEN
            created := false;
            SELECT ie.message_id INTO message_id FROM inbound_events ie
            WHERE ie.tenant_id = p_tenant AND ie.channel_id = p_channel AND ie.event_id = e->>'event_id';
            RETURN NEXT;
            CONTINUE;
        END IF;
        created := true;

        IF v_echo THEN
            -- The echo of a message sent from here: it is stored already.
            SELECT m.id INTO v_existing FROM messages m
            WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel AND m.external_id = e->>'message_id'
              AND m.direction = 'outbound'
            LIMIT 1;
            IF v_existing IS NOT NULL THEN
                UPDATE inbound_events ie SET message_id = v_existing WHERE ie.tenant_id = p_tenant AND ie.id = v_event;
                message_id := v_existing;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;

        IF v_kind = 'message' THEN
            -- The contact: claim the identity; only the winner of a race creates the contact.
            v_identity := e->'sender'->>'external_id';
            v_contact := gen_random_uuid();
            INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id)
            VALUES (p_tenant, gen_random_uuid(), v_contact, p_channel_kind, v_identity)
            ON CONFLICT (tenant_id, channel_kind, external_id) DO NOTHING;
            IF FOUND THEN
                INSERT INTO contacts (tenant_id, id, display_name, phone, email, username, language, last_seen_at,
                                      profile_channel_id, profile_retry_at)
                VALUES (p_tenant, v_contact, e->'sender'->>'name', e->'sender'->>'phone', e->'sender'->>'email',
                        e->'sender'->>'username', e->'sender'->>'language', CASE WHEN NOT v_echo THEN v_sent END,
                        CASE WHEN (e->>'lookup_profile')::boolean AND e->'sender'->>'name' IS NULL THEN p_channel END,
                        CASE WHEN (e->>'lookup_profile')::boolean AND e->'sender'->>'name' IS NULL THEN now() END);
            ELSE
                SELECT ci.contact_id INTO v_contact FROM contact_identities ci
                WHERE ci.tenant_id = p_tenant AND ci.channel_kind = p_channel_kind AND ci.external_id = v_identity;
                -- Only when something changes: last seen moves on by the minute, and blank
                -- fields take what the platform now tells.
                UPDATE contacts c SET last_seen_at = CASE WHEN v_echo THEN c.last_seen_at ELSE GREATEST(c.last_seen_at, v_sent) END,
                    display_name = COALESCE(c.display_name, e->'sender'->>'name'),
                    username = COALESCE(c.username, e->'sender'->>'username'),
                    phone = COALESCE(c.phone, e->'sender'->>'phone'),
                    email = COALESCE(c.email, e->'sender'->>'email')
                WHERE c.tenant_id = p_tenant AND c.id = v_contact
                  AND ((NOT v_echo AND (c.last_seen_at IS NULL OR c.last_seen_at < v_sent - interval '1 minute'))
                       OR (c.display_name IS NULL AND e->'sender'->>'name' IS NOT NULL)
                       OR (c.username IS NULL AND e->'sender'->>'username' IS NOT NULL)
                       OR (c.phone IS NULL AND e->'sender'->>'phone' IS NOT NULL)
                       OR (c.email IS NULL AND e->'sender'->>'email' IS NOT NULL));
            END IF;
            FOR v_alt IN SELECT jsonb_array_elements_text(COALESCE(e->'sender'->'alternate_ids', '[]')) LOOP
                INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id)
                VALUES (p_tenant, gen_random_uuid(), v_contact, p_channel_kind, v_alt)
                ON CONFLICT (tenant_id, channel_kind, external_id) DO NOTHING;
            END LOOP;

            -- The conversation: the one a reply names, the open one of this chat, the
            -- contact's open one of the same title, or a new one.
            v_chat := COALESCE(e->'chat'->>'external_id', v_identity);
            v_conversation := NULL;
            IF jsonb_typeof(e->'thread_keys') = 'array' THEN
                SELECT m.conversation_id INTO v_conversation
                FROM messages m JOIN conversations cv ON cv.tenant_id = m.tenant_id AND cv.id = m.conversation_id
                WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel AND cv.status = 'open'
                  AND m.external_id IN (SELECT jsonb_array_elements_text(e->'thread_keys'))
                ORDER BY m.seq DESC LIMIT 1;
            END IF;
            IF v_conversation IS NULL AND (e->>'match_title')::boolean AND e->'chat'->>'title' IS NOT NULL THEN
                SELECT cv.id INTO v_conversation FROM conversations cv
                WHERE cv.tenant_id = p_tenant AND cv.contact_id = v_contact AND cv.channel_id = p_channel
                  AND cv.status = 'open' AND cv.title = e->'chat'->>'title'
                ORDER BY cv.last_message_at DESC LIMIT 1;
            END IF;
            IF v_conversation IS NULL THEN
                v_conversation := gen_random_uuid();
                INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, chat_kind, title, last_message_at,
                                           last_inbound_at)
                VALUES (p_tenant, v_conversation, p_channel, v_contact, v_chat, COALESCE(e->'chat'->>'kind', 'direct'),
                        e->'chat'->>'title', v_sent, CASE WHEN NOT v_echo THEN LEAST(v_sent, now()) END)
                ON CONFLICT (tenant_id, channel_id, chat_external_id) WHERE status = 'open' DO NOTHING;
                IF NOT FOUND THEN
                    SELECT cv.id INTO v_conversation FROM conversations cv
                    WHERE cv.tenant_id = p_tenant AND cv.channel_id = p_channel AND cv.chat_external_id = v_chat
                      AND cv.status = 'open';
                ELSE
                    v_chat := NULL;
                END IF;
            END IF;
            -- (v_chat NULL: the conversation was just made with these times.)
            IF v_chat IS NOT NULL THEN
                UPDATE conversations cv SET last_message_at = GREATEST(cv.last_message_at, v_sent),
                    last_inbound_at = CASE WHEN v_echo THEN cv.last_inbound_at ELSE GREATEST(cv.last_inbound_at, LEAST(v_sent, now())) END
                WHERE cv.tenant_id = p_tenant AND cv.id = v_conversation
                  AND (cv.last_message_at < v_sent
                       OR (NOT v_echo AND (cv.last_inbound_at IS NULL OR cv.last_inbound_at < LEAST(v_sent, now()))));
            END IF;

            -- Answered, unless it asks for none or its contact is past the hour's limit.
            v_skip := CASE WHEN NOT v_echo THEN e->>'no_reply' END;
            -- (GREATEST skips a NULL: without a limit there is none.)
            v_limit := CASE WHEN jsonb_typeof(e->'reply_limit') = 'number'
                            THEN LEAST(GREATEST((e->>'reply_limit')::integer, 1), 10000) END;
            IF v_skip IS NULL AND NOT v_echo AND v_limit IS NOT NULL AND (
                SELECT count(*) FROM (
                    SELECT 1 FROM messages m
                    WHERE m.tenant_id = p_tenant AND m.contact_id = v_contact AND m.direction = 'inbound'
                      AND m.created_at > now() - interval '1 hour' AND m.channel_id = p_channel
                    ORDER BY m.created_at DESC LIMIT v_limit) recent) >= v_limit THEN
                v_skip := 'reply_rate_limited';
            END IF;

            INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, external_id, text,
                                  attachments, sent_at, reply_status, reply_error, delivery_status)
            VALUES (p_tenant, v_message, v_conversation, p_channel, v_contact, CASE WHEN v_echo THEN 'outbound' ELSE 'inbound' END,
                    e->>'message_id', e->>'text', COALESCE(e->'attachments', '[]'), v_sent,
                    CASE WHEN v_skip IS NOT NULL THEN 'skipped' END, left(v_skip, 200), CASE WHEN v_echo THEN 'sent' END);
            -- The outbox: the reply worker takes it after the commit.
            IF v_skip IS NULL AND NOT v_echo THEN
                INSERT INTO jobs (tenant_id, id, kind, message_id) VALUES (p_tenant, gen_random_uuid(), 'reply', v_message);
            END IF;

        ELSIF v_kind = 'edit' THEN
            SELECT m.id, m.text INTO v_message, v_previous FROM messages m
            WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel AND m.external_id = e->>'message_id'
              AND m.direction = 'inbound'
            ORDER BY m.seq DESC LIMIT 1 FOR UPDATE;
            IF v_message IS NOT NULL THEN
                INSERT INTO message_edits (tenant_id, id, message_id, previous_text, edited_at)
                VALUES (p_tenant, gen_random_uuid(), v_message, v_previous, v_sent);
                UPDATE messages m SET text = e->>'text', edited_at = v_sent
                WHERE m.tenant_id = p_tenant AND m.id = v_message;
            END IF;

        ELSIF v_kind = 'delete' THEN
            UPDATE messages m SET deleted_at = v_sent
            WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel AND m.external_id = e->>'message_id'
              AND m.direction = 'inbound' AND m.deleted_at IS NULL
            RETURNING m.id INTO v_message;

        ELSIF v_kind = 'status' AND e->>'message_id' IS NULL THEN
            -- A watermark: every message of the chat sent up to it, at most the latest 200.
            UPDATE messages m SET delivery_status = e->>'status'
            WHERE m.tenant_id = p_tenant AND m.id IN (
                SELECT x.id FROM messages x JOIN conversations cv ON cv.tenant_id = x.tenant_id AND cv.id = x.conversation_id
                WHERE x.tenant_id = p_tenant AND cv.channel_id = p_channel AND cv.chat_external_id = e->'chat'->>'external_id'
                  AND x.direction = 'outbound' AND x.sent_at <= v_sent
                  AND x.delivery_status IN ('sent', 'delivered') AND x.delivery_status <> e->>'status'
                ORDER BY x.seq DESC LIMIT 200)
              AND array_position(ARRAY['pending', 'sent', 'delivered', 'read', 'failed'], e->>'status')
                  > COALESCE(array_position(ARRAY['pending', 'sent', 'delivered', 'read', 'failed'], m.delivery_status), 0)
              AND e->>'status' IN ('delivered', 'read');

        ELSIF v_kind = 'status' THEN
            -- Statuses only move forward (sent < delivered < read; failed is final):
            -- platforms deliver them out of order.
            UPDATE messages m SET delivery_status = e->>'status', delivery_error = e->>'status_error'
            WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel AND m.external_id = e->>'message_id'
              AND m.direction = 'outbound'
              AND COALESCE(m.delivery_status, '') <> 'failed'
              AND array_position(ARRAY['pending', 'sent', 'delivered', 'read', 'failed'], e->>'status')
                  > COALESCE(array_position(ARRAY['pending', 'sent', 'delivered', 'read', 'failed'], m.delivery_status), 0)
            RETURNING m.id INTO v_message;
        END IF;

        IF v_message IS NOT NULL AND v_kind <> 'message' THEN
            UPDATE inbound_events ie SET message_id = v_message WHERE ie.tenant_id = p_tenant AND ie.id = v_event;
        END IF;
        message_id := v_message;
        RETURN NEXT;
    END LOOP;
    -- When the channel last heard from its platform, to the minute.
    UPDATE channels c SET last_event_at = now()
    WHERE c.tenant_id = p_tenant AND c.id = p_channel AND (c.last_event_at IS NULL OR c.last_event_at < now() - interval '1 minute');
END
$function$;
GRANT EXECUTE ON FUNCTION ingest_delivery(p_tenant uuid, p_channel uuid, p_channel_kind text, p_payload text, p_events jsonb) TO switchboard_app;

-- The live channels of the pulled kinds, across tenants, for the service that fetches
-- their messages: what it needs to open their credentials and resume, and who holds each.
CREATE OR REPLACE FUNCTION public.pulled_channels(p_kinds text[])
 RETURNS TABLE(tenant_id uuid, id uuid, kind text, enabled boolean, credentials bytea, pull_cursor text, pull_owner text, pull_lease_until timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'on'
AS $function$
    SELECT c.tenant_id, c.id, c.kind, c.enabled, c.credentials, c.pull_cursor, c.pull_owner, c.pull_lease_until FROM channels c
    WHERE c.kind = ANY (p_kinds) AND c.deleted_at IS NULL AND c.enabled AND c.credentials IS NOT NULL
    ORDER BY c.tenant_id, c.id
$function$;
REVOKE ALL ON FUNCTION pulled_channels(p_kinds text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pulled_channels(p_kinds text[]) TO switchboard_app;

-- Takes or renews a pulled channel's lease for p_owner until p_until: when nobody holds it,
-- p_owner does, or the holder's lease ran out. Answers the channel's cursor when the lease
-- is p_owner's (the cursor as its last holder committed it), no row when it is not.
CREATE OR REPLACE FUNCTION public.claim_pulled_channel(p_tenant uuid, p_channel uuid, p_owner text, p_now timestamp with time zone, p_until timestamp with time zone)
 RETURNS TABLE(pull_cursor text)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    RETURN QUERY
    UPDATE channels c SET pull_owner = p_owner, pull_lease_until = p_until,
        pull_state = CASE WHEN c.pull_owner IS DISTINCT FROM p_owner THEN 'connecting' ELSE c.pull_state END
    WHERE c.tenant_id = p_tenant AND c.id = p_channel AND c.deleted_at IS NULL AND c.enabled
      AND (c.pull_owner IS NULL OR c.pull_owner = p_owner OR c.pull_lease_until IS NULL OR c.pull_lease_until < p_now)
    RETURNING c.pull_cursor;
END
$function$;
GRANT EXECUTE ON FUNCTION claim_pulled_channel(p_tenant uuid, p_channel uuid, p_owner text, p_now timestamp with time zone, p_until timestamp with time zone) TO switchboard_app;

-- The contacts whose profile look-up is due (Instagram's and Messenger's senders arrive as
-- bare ids), across tenants, with the channel to ask through: at most p_limit, the longest
-- waiting first, each claimed for p_lease so another replica's run does not ask too.
-- Restricted contacts wait until the restriction is lifted.
CREATE OR REPLACE FUNCTION public.profiles_due(p_now timestamp with time zone, p_limit integer, p_lease interval)
 RETURNS TABLE(tenant_id uuid, contact_id uuid, channel_id uuid, kind text, credentials bytea, external_id text, attempts integer)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'on'
AS $function$
    WITH due AS (
        SELECT c.tenant_id, c.id FROM contacts c
        -- (A restricted contact's data is kept, not processed: not looked up either.)
        WHERE c.profile_retry_at IS NOT NULL AND c.profile_retry_at <= p_now AND c.restricted_at IS NULL
        ORDER BY c.profile_retry_at LIMIT LEAST(GREATEST(p_limit, 1), 100)
        FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE contacts c SET profile_retry_at = p_now + p_lease
        FROM due WHERE c.tenant_id = due.tenant_id AND c.id = due.id
        RETURNING c.tenant_id, c.id, c.profile_channel_id, c.profile_attempts)
    SELECT cl.tenant_id, cl.id, ch.id, ch.kind, ch.credentials,
           (SELECT ci.external_id FROM contact_identities ci
            WHERE ci.tenant_id = cl.tenant_id AND ci.contact_id = cl.id AND ci.channel_kind = ch.kind
            ORDER BY ci.created_at LIMIT 1),
           cl.profile_attempts
    FROM claimed cl JOIN channels ch ON ch.tenant_id = cl.tenant_id AND ch.id = cl.profile_channel_id
    WHERE ch.deleted_at IS NULL AND ch.credentials IS NOT NULL
$function$;
REVOKE ALL ON FUNCTION profiles_due(p_now timestamp with time zone, p_limit integer, p_lease interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION profiles_due(p_now timestamp with time zone, p_limit integer, p_lease interval) TO switchboard_app;
