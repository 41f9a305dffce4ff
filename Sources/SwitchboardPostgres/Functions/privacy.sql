-- Data protection: the audit journal, the privacy context a reply reads, export, erasure,
-- forgetting messages, deleting a channel's or agent's data, and the retention sweeps.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- Appends one entry to the tenant's chain, in the caller's transaction; answers its seq.
CREATE OR REPLACE FUNCTION public.audit_append(p_tenant uuid, p_actor text, p_action text, p_subject_kind text, p_subject_id text, p_details jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_head audit_heads;
    v_at timestamptz := date_trunc('microseconds', clock_timestamp());
    v_hash bytea;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (p_tenant, 0, '\x'::bytea) ON CONFLICT DO NOTHING;
    SELECT * INTO v_head FROM audit_heads h WHERE h.tenant_id = p_tenant FOR UPDATE;
    v_hash := audit_hash(v_head.hash, p_tenant, v_head.seq + 1, v_at, p_actor, p_action, p_subject_kind, p_subject_id,
                         COALESCE(p_details, '{}'));
    INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_kind, subject_id, details, prev_hash, hash)
    VALUES (p_tenant, v_head.seq + 1, v_at, p_actor, p_action, p_subject_kind, p_subject_id, COALESCE(p_details, '{}'), v_head.hash, v_hash);
    UPDATE audit_heads h SET seq = v_head.seq + 1, hash = v_hash WHERE h.tenant_id = p_tenant;
    RETURN v_head.seq + 1;
END
$function$;
REVOKE ALL ON FUNCTION audit_append(p_tenant uuid, p_actor text, p_action text, p_subject_kind text, p_subject_id text, p_details jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(p_tenant uuid, p_actor text, p_action text, p_subject_kind text, p_subject_id text, p_details jsonb) TO switchboard_app;

-- The hash of one entry: SHA-256 over the previous hash and the entry's fields, each
-- length-prefixed so no two field lists run together the same.
CREATE OR REPLACE FUNCTION public.audit_hash(p_prev bytea, p_tenant uuid, p_seq bigint, p_at timestamp with time zone, p_actor text, p_action text, p_subject_kind text, p_subject_id text, p_details jsonb)
 RETURNS bytea
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT sha256(p_prev || convert_to(
        (SELECT string_agg(length(f)::text || ':' || f, '|' ORDER BY n)
         FROM unnest(ARRAY[p_tenant::text, p_seq::text, to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), p_actor,
                           p_action, p_subject_kind, COALESCE(p_subject_id, ''), p_details::text]) WITH ORDINALITY AS t(f, n)),
        'UTF8'));
$function$;

-- The audit journal is append-only: no update, and no delete but the tenant's off-boarding
-- cascade.
CREATE OR REPLACE FUNCTION public.audit_log_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD; -- the tenant's off-boarding cascade
    END IF;
    RAISE EXCEPTION 'the audit journal is append-only: % refused', TG_OP USING ERRCODE = 'SBA01';
END
$function$;

-- Walks the tenant's chain from the start; answers the first entry whose hash or link
-- does not hold (NULL when the whole chain holds) and how many entries were checked.
CREATE OR REPLACE FUNCTION public.audit_verify(p_tenant uuid, OUT broken_seq bigint, OUT checked bigint)
 RETURNS record
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_entry audit_log;
    v_prev bytea := '\x'::bytea;
    v_expected bigint := 1;
    v_head audit_heads;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    checked := 0;
    FOR v_entry IN SELECT * FROM audit_log a WHERE a.tenant_id = p_tenant ORDER BY a.seq LOOP
        IF v_entry.seq <> v_expected OR v_entry.prev_hash <> v_prev
           OR v_entry.hash <> audit_hash(v_entry.prev_hash, v_entry.tenant_id, v_entry.seq, v_entry.at, v_entry.actor, v_entry.action,
                                         v_entry.subject_kind, v_entry.subject_id, v_entry.details) THEN
            broken_seq := v_expected;
            RETURN;
        END IF;
        v_prev := v_entry.hash;
        v_expected := v_expected + 1;
        checked := checked + 1;
    END LOOP;
    -- Entries cut off the end: the head remembers how far the chain went.
    SELECT * INTO v_head FROM audit_heads h WHERE h.tenant_id = p_tenant;
    IF FOUND AND (v_head.seq <> checked OR v_head.hash <> v_prev) THEN
        broken_seq := checked + 1;
    END IF;
END
$function$;
REVOKE ALL ON FUNCTION audit_verify(p_tenant uuid, OUT broken_seq bigint, OUT checked bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_verify(p_tenant uuid, OUT broken_seq bigint, OUT checked bigint) TO switchboard_app;

-- Access and portability, by author: every conversation the contact owns or wrote in;
-- of a direct chat every message, of a group only its own messages and our answers to
-- them (the other members' messages are theirs). NULL when the contact is not the
-- tenant's. Each message carries its edits and the tool calls its agent made answering it.
CREATE OR REPLACE FUNCTION public.contact_export(p_tenant uuid, p_contact uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
    SELECT jsonb_build_object(
        'contact', to_jsonb(c) - 'tenant_id',
        'identities', COALESCE((SELECT jsonb_agg(to_jsonb(i) - 'tenant_id' ORDER BY i.created_at)
                                FROM contact_identities i WHERE i.tenant_id = p_tenant AND i.contact_id = c.id), '[]'),
        'conversations', COALESCE((
            SELECT jsonb_agg((to_jsonb(v) - 'tenant_id') || jsonb_build_object('messages', COALESCE((
                SELECT jsonb_agg((to_jsonb(m) - 'tenant_id') || jsonb_build_object('edits', COALESCE((
                    SELECT jsonb_agg(to_jsonb(e) - 'tenant_id' ORDER BY e.edited_at)
                    FROM message_edits e WHERE e.tenant_id = p_tenant AND e.message_id = m.id), '[]'),
                    'tool_calls', COALESCE((
                    SELECT jsonb_agg(to_jsonb(t) - 'tenant_id' ORDER BY t.round, t.created_at, t.id)
                    FROM message_tool_calls t WHERE t.tenant_id = p_tenant AND t.message_id = m.id), '[]')) ORDER BY m.seq)
                FROM messages m
                WHERE m.tenant_id = p_tenant AND m.conversation_id = v.id
                  AND ((v.chat_kind = 'direct' AND v.contact_id = c.id)
                       OR m.contact_id = c.id
                       OR m.in_reply_to IN (SELECT o.id FROM messages o
                                            WHERE o.tenant_id = p_tenant AND o.conversation_id = v.id AND o.contact_id = c.id))),
                '[]')) ORDER BY v.created_at)
            FROM conversations v
            WHERE v.tenant_id = p_tenant AND (v.contact_id = c.id OR v.id IN (
                SELECT a.conversation_id FROM messages a WHERE a.tenant_id = p_tenant AND a.contact_id = c.id))), '[]'),
        'notes', COALESCE((SELECT jsonb_agg(to_jsonb(n) - 'tenant_id' ORDER BY n.created_at)
                           FROM notes n WHERE n.tenant_id = p_tenant AND n.contact_id = c.id), '[]'),
        'deals', COALESCE((SELECT jsonb_agg(to_jsonb(d) - 'tenant_id' ORDER BY d.created_at)
                           FROM deals d WHERE d.tenant_id = p_tenant AND d.contact_id = c.id), '[]'),
        'consents', COALESCE((SELECT jsonb_agg(to_jsonb(k) - 'tenant_id' ORDER BY k.recorded_at)
                              FROM consents k WHERE k.tenant_id = p_tenant AND k.contact_id = c.id), '[]'),
        'privacy_requests', COALESCE((SELECT jsonb_agg(to_jsonb(r) - 'tenant_id' ORDER BY r.requested_at)
                                      FROM privacy_requests r WHERE r.tenant_id = p_tenant AND r.contact_id = c.id), '[]'),
        'audit_log', COALESCE((SELECT jsonb_agg(jsonb_build_object('seq', a.seq, 'at', a.at, 'actor', a.actor, 'action', a.action,
                                                                 'hash', encode(a.hash, 'hex')) ORDER BY a.seq)
                               FROM audit_log a WHERE a.tenant_id = p_tenant AND a.subject_kind = 'contact' AND a.subject_id = c.id::text), '[]'))
    FROM contacts c WHERE c.tenant_id = p_tenant AND c.id = p_contact;
$function$;
GRANT EXECUTE ON FUNCTION contact_export(p_tenant uuid, p_contact uuid) TO switchboard_app;

-- Whether a deal is still open: any stage but the closing ones (stages are the tenant's
-- own words; these are the usual ends of a pipeline, compared without case).
CREATE OR REPLACE FUNCTION public.deal_is_open(p_stage text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT lower(btrim(p_stage)) NOT IN ('won', 'lost', 'closed', 'closed_won', 'closed_lost', 'closed won', 'closed lost',
                                         'cancelled', 'canceled', 'done');
$function$;

-- Deleting an agent with its data (the tenant's choice): its answers and the record of
-- its model calls go; the ledger keeps its amounts.
CREATE OR REPLACE FUNCTION public.delete_agent_data(p_tenant uuid, p_agent uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_messages uuid[];
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT COALESCE(array_agg(m.id), '{}') INTO v_messages FROM messages m WHERE m.tenant_id = p_tenant AND m.agent_id = p_agent;
    PERFORM forget_messages(p_tenant, v_messages, 'agent_deleted');
    DELETE FROM model_calls c WHERE c.tenant_id = p_tenant AND c.agent_id = p_agent;
    DELETE FROM messages m WHERE m.tenant_id = p_tenant AND m.id = ANY(v_messages);
    RETURN jsonb_build_object('messages', cardinality(v_messages));
END
$function$;
REVOKE ALL ON FUNCTION delete_agent_data(p_tenant uuid, p_agent uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION delete_agent_data(p_tenant uuid, p_agent uuid) TO switchboard_app;

-- Deleting a channel with its data (the tenant's choice): the channel row goes, and with
-- it (cascades) its conversations, messages, raw events and dead letters; the jobs of
-- those messages go, the ledger loses their references, and contacts left with no
-- conversation anywhere go with their identities, notes, deals and consents. Answers the
-- counts, or NULL when the channel is not the tenant's.
CREATE OR REPLACE FUNCTION public.delete_channel_data(p_tenant uuid, p_channel uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_messages uuid[];
    v_contacts uuid[];
    v_gone bigint;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    PERFORM 1 FROM channels c WHERE c.tenant_id = p_tenant AND c.id = p_channel FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(array_agg(m.id), '{}') INTO v_messages FROM messages m WHERE m.tenant_id = p_tenant AND m.channel_id = p_channel;
    SELECT COALESCE(array_agg(DISTINCT v.contact_id), '{}') INTO v_contacts
    FROM conversations v WHERE v.tenant_id = p_tenant AND v.channel_id = p_channel;
    PERFORM forget_messages(p_tenant, v_messages, 'channel_deleted');
    DELETE FROM channels c WHERE c.tenant_id = p_tenant AND c.id = p_channel;
    DELETE FROM contacts c WHERE c.tenant_id = p_tenant AND c.id = ANY(v_contacts)
      AND NOT EXISTS (SELECT 1 FROM conversations v WHERE v.tenant_id = p_tenant AND v.contact_id = c.id);
    GET DIAGNOSTICS v_gone = ROW_COUNT;
    RETURN jsonb_build_object('messages', cardinality(v_messages), 'contacts', v_gone);
END
$function$;
REVOKE ALL ON FUNCTION delete_channel_data(p_tenant uuid, p_channel uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION delete_channel_data(p_tenant uuid, p_channel uuid) TO switchboard_app;

-- Erasure (right to be forgotten), by author: the contact's own messages wherever it
-- wrote them (a group of someone else's included) and our answers to them go; its direct
-- conversations go whole; a group conversation that belongs to it but where others wrote
-- too is handed to the latest other author and keeps their messages. Then everything that
-- hangs off the contact (identities, notes, deals, consents, merges), its raw deliveries
-- and dead letters that carry its platform ids, and idempotency answers that mention it.
-- The ledger keeps its amounts without the message references; the platform's event ids
-- stay as tombstones. Answers what was removed, by kind, or NULL when the contact is not
-- the tenant's.
CREATE OR REPLACE FUNCTION public.erase_contact(p_tenant uuid, p_contact uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_identities text[];
    v_owned uuid[];
    v_shared uuid[];
    v_whole uuid[];
    v_messages uuid[];
    v_counts jsonb := '{}'::jsonb;
    v_n bigint;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    PERFORM 1 FROM contacts c WHERE c.tenant_id = p_tenant AND c.id = p_contact FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(array_agg(i.external_id), '{}') INTO v_identities
    FROM contact_identities i WHERE i.tenant_id = p_tenant AND i.contact_id = p_contact;
    SELECT COALESCE(array_agg(v.id), '{}') INTO v_owned
    FROM conversations v WHERE v.tenant_id = p_tenant AND v.contact_id = p_contact;
    -- Its conversations where someone else wrote: they stay, with the others' messages.
    SELECT COALESCE(array_agg(v.id), '{}') INTO v_shared
    FROM conversations v WHERE v.tenant_id = p_tenant AND v.id = ANY(v_owned) AND EXISTS (
        SELECT 1 FROM messages m WHERE m.tenant_id = p_tenant AND m.conversation_id = v.id AND m.contact_id <> p_contact);
    SELECT COALESCE(array_agg(x), '{}') INTO v_whole FROM unnest(v_owned) x WHERE x <> ALL(v_shared);
    SELECT COALESCE(array_agg(m.id), '{}') INTO v_messages FROM messages m
    WHERE m.tenant_id = p_tenant AND (m.contact_id = p_contact OR m.conversation_id = ANY(v_whole));
    -- Our answers to its messages in chats it shared with others (a group) quote it too.
    v_messages := v_messages || COALESCE((SELECT array_agg(m.id) FROM messages m
                                          WHERE m.tenant_id = p_tenant AND m.in_reply_to = ANY(v_messages)
                                            AND NOT m.id = ANY(v_messages)), '{}');

    PERFORM forget_messages(p_tenant, v_messages, 'erased');
    -- Other raw deliveries and dead letters that carry one of its platform ids.
    UPDATE inbound_events e SET payload = ''
    WHERE e.tenant_id = p_tenant AND e.payload <> '' AND EXISTS (
        SELECT 1 FROM unnest(v_identities) x WHERE length(x) >= 3 AND position(x IN e.payload) > 0);
    DELETE FROM dead_letters d
    WHERE d.tenant_id = p_tenant AND EXISTS (
        SELECT 1 FROM unnest(v_identities) x WHERE length(x) >= 3 AND position(convert_to(x, 'UTF8') IN d.body) > 0);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('dead_letters', v_n);
    -- Answers kept for Idempotency-Key replays that mention it or a conversation that goes.
    DELETE FROM idempotency_keys k
    WHERE k.scope = p_tenant AND k.body IS NOT NULL AND (
        position(convert_to(p_contact::text, 'UTF8') IN k.body) > 0
        OR EXISTS (SELECT 1 FROM unnest(v_whole) v WHERE position(convert_to(v::text, 'UTF8') IN k.body) > 0));
    DELETE FROM contact_merges g WHERE g.tenant_id = p_tenant AND (g.source_contact_id = p_contact OR g.target_contact_id = p_contact);
    DELETE FROM messages m WHERE m.tenant_id = p_tenant AND m.id = ANY(v_messages);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- A shared group is handed to the member who wrote in it last, before the contact's
    -- deletion would take it along.
    UPDATE conversations v SET contact_id = (
        SELECT m.contact_id FROM messages m
        WHERE m.tenant_id = p_tenant AND m.conversation_id = v.id AND m.contact_id IS NOT NULL AND m.contact_id <> p_contact
        ORDER BY m.seq DESC LIMIT 1)
    WHERE v.tenant_id = p_tenant AND v.id = ANY(v_shared);
    v_counts := v_counts || jsonb_build_object('messages', v_n, 'conversations', cardinality(v_whole),
                                               'identities', cardinality(v_identities));
    -- Everything that still hangs off the contact: identities, its whole conversations,
    -- notes, deals, consents.
    DELETE FROM contacts c WHERE c.tenant_id = p_tenant AND c.id = p_contact;
    INSERT INTO privacy_requests (tenant_id, kind, contact_id, completed_at, details)
    VALUES (p_tenant, 'erasure', p_contact, now(), v_counts);
    RETURN v_counts;
END
$function$;
REVOKE ALL ON FUNCTION erase_contact(p_tenant uuid, p_contact uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_contact(p_tenant uuid, p_contact uuid) TO switchboard_app;

-- Messages that are going (erased, past retention, deleted with their channel or
-- agent) leave no copies: the events that brought them become tombstones without their
-- payload (a redelivery stays a duplicate), their jobs go, and the ledger keeps its
-- amounts but drops the references to them.
CREATE OR REPLACE FUNCTION public.forget_messages(p_tenant uuid, p_messages uuid[], p_reason text)
 RETURNS void
 LANGUAGE sql
AS $function$
    UPDATE inbound_events e SET payload = '', message_id = NULL, kind = 'ignored', ignored_reason = p_reason
    WHERE e.tenant_id = p_tenant AND e.message_id = ANY(p_messages);
    DELETE FROM jobs j WHERE j.tenant_id = p_tenant AND j.message_id = ANY(p_messages);
    UPDATE credit_entries e SET message_id = NULL, reference_id = NULL WHERE e.tenant_id = p_tenant AND e.message_id = ANY(p_messages);
$function$;
REVOKE ALL ON FUNCTION forget_messages(p_tenant uuid, p_messages uuid[], p_reason text) FROM PUBLIC;

-- What the reply and send workers must honour for one conversation's contact: the
-- restriction, the consents in force, the tenant's policy, its providers' regions.
CREATE OR REPLACE FUNCTION public.privacy_context(p_tenant uuid, p_conversation uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'restricted', c.restricted_at IS NOT NULL,
            'consents', COALESCE((SELECT jsonb_object_agg(x.purpose, x.granted) FROM (
                SELECT DISTINCT ON (k.purpose) k.purpose, k.granted FROM consents k
                WHERE k.tenant_id = p_tenant AND k.contact_id = c.id ORDER BY k.purpose, k.recorded_at DESC, k.id) x), '{}'::jsonb),
            'policy', COALESCE((SELECT jsonb_build_object('redact_pii', p.redact_pii, 'allowed_regions', to_jsonb(p.allowed_regions),
                                                          'home_region', p.home_region, 'ai_label', p.ai_label)
                                FROM privacy_policies p WHERE p.tenant_id = p_tenant),
                               jsonb_build_object('redact_pii', false, 'allowed_regions', NULL, 'home_region', 'kz', 'ai_label', NULL)),
            'regions', COALESCE((SELECT jsonb_object_agg(p.id, p.region) FROM providers p WHERE p.tenant_id = p_tenant), '{}'::jsonb))
        FROM conversations v JOIN contacts c ON c.tenant_id = v.tenant_id AND c.id = v.contact_id
        WHERE v.tenant_id = p_tenant AND v.id = p_conversation);
END
$function$;
GRANT EXECUTE ON FUNCTION privacy_context(p_tenant uuid, p_conversation uuid) TO switchboard_app;

-- A retention run over every tenant; recorded with what it deleted. Answers the run's id.
CREATE OR REPLACE FUNCTION public.retention_sweep(p_now timestamp with time zone, p_batch integer)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_run uuid := gen_random_uuid();
    v_tenant uuid;
    v_counts jsonb;
    v_total jsonb := '{}'::jsonb;
    v_tenants integer := 0;
    v_key text;
BEGIN
    INSERT INTO retention_runs (id, ran_at) VALUES (v_run, p_now);
    PERFORM set_config('app.operator', 'on', true);
    FOR v_tenant IN SELECT t.id FROM tenants t ORDER BY t.id LOOP
        v_counts := retention_sweep_tenant(v_tenant, p_now, p_batch);
        IF v_counts <> '{}'::jsonb THEN
            INSERT INTO retention_deletions (tenant_id, run_id, deleted) VALUES (v_tenant, v_run, v_counts);
            v_tenants := v_tenants + 1;
            FOR v_key IN SELECT jsonb_object_keys(v_counts) LOOP
                v_total := v_total || jsonb_build_object(v_key, COALESCE((v_total->>v_key)::bigint, 0) + (v_counts->>v_key)::bigint);
            END LOOP;
        END IF;
    END LOOP;
    UPDATE retention_runs r SET finished_at = clock_timestamp(), tenants = v_tenants, deleted = v_total WHERE r.id = v_run;
    RETURN v_run;
END
$function$;
REVOKE ALL ON FUNCTION retention_sweep(p_now timestamp with time zone, p_batch integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_sweep(p_now timestamp with time zone, p_batch integer) TO switchboard_app;

-- One tenant's share of a retention run, at most p_batch rows of each kind (the next run
-- takes the rest): conversations past conversation_days since their last message go
-- with their messages (their events become tombstones, the ledger loses the message
-- references, their jobs go); then contacts with no conversation and no message left
-- whose own last activity (created, changed, last seen) is past the same window go with
-- their identities, notes, deals and consents — unless one of their deals is open, the
-- contact is kept (retention_keep) or the tenant keeps every contact (keep_contacts).
-- Technical logs past log_days (raw events, dead letters, model calls, finished jobs) go;
-- ledger entries past ledger_years lose their message references; Idempotency-Key
-- answers past their 24 hours go. Answers the counts.
CREATE OR REPLACE FUNCTION public.retention_sweep_tenant(p_tenant uuid, p_now timestamp with time zone, p_batch integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
DECLARE
    v_policy privacy_policies;
    v_cutoff timestamptz;
    v_conversations uuid[];
    v_messages uuid[];
    v_contacts uuid[];
    v_log_cutoff timestamptz;
    v_counts jsonb := '{}'::jsonb;
    v_n bigint;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT * INTO v_policy FROM privacy_policies p WHERE p.tenant_id = p_tenant;
    v_log_cutoff := p_now - make_interval(days => COALESCE(v_policy.log_days, 180));
    IF v_policy.conversation_days IS NOT NULL THEN
        v_cutoff := p_now - make_interval(days => v_policy.conversation_days);
        SELECT COALESCE(array_agg(v.id), '{}') INTO v_conversations FROM (
            SELECT v.id FROM conversations v
            WHERE v.tenant_id = p_tenant AND v.last_message_at < v_cutoff
            ORDER BY v.last_message_at LIMIT p_batch) v;
        IF cardinality(v_conversations) > 0 THEN
            SELECT COALESCE(array_agg(m.id), '{}') INTO v_messages FROM messages m
            WHERE m.tenant_id = p_tenant AND m.conversation_id = ANY(v_conversations);
            PERFORM forget_messages(p_tenant, v_messages, 'retention');
            DELETE FROM conversations v WHERE v.tenant_id = p_tenant AND v.id = ANY(v_conversations);
            v_counts := v_counts || jsonb_build_object('conversations', cardinality(v_conversations), 'messages', cardinality(v_messages));
        END IF;
        IF NOT v_policy.keep_contacts THEN
            SELECT COALESCE(array_agg(x.id), '{}') INTO v_contacts FROM (
                SELECT c.id FROM contacts c
                WHERE c.tenant_id = p_tenant AND NOT c.retention_keep
                  AND greatest(c.created_at, c.updated_at, c.last_seen_at) < v_cutoff
                  AND NOT EXISTS (SELECT 1 FROM conversations v WHERE v.tenant_id = p_tenant AND v.contact_id = c.id)
                  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = p_tenant AND m.contact_id = c.id)
                  AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.tenant_id = p_tenant AND d.contact_id = c.id AND deal_is_open(d.stage))
                ORDER BY c.created_at LIMIT p_batch) x;
            IF cardinality(v_contacts) > 0 THEN
                DELETE FROM contact_merges g
                WHERE g.tenant_id = p_tenant AND (g.source_contact_id = ANY(v_contacts) OR g.target_contact_id = ANY(v_contacts));
                -- Identities, notes, closed deals and consents go with them (cascades).
                DELETE FROM contacts c WHERE c.tenant_id = p_tenant AND c.id = ANY(v_contacts);
                v_counts := v_counts || jsonb_build_object('contacts', cardinality(v_contacts));
            END IF;
        END IF;
    END IF;
    DELETE FROM inbound_events e WHERE (e.tenant_id, e.id) IN (
        SELECT x.tenant_id, x.id FROM inbound_events x WHERE x.tenant_id = p_tenant AND x.received_at < v_log_cutoff LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('inbound_events', v_n); END IF;
    DELETE FROM dead_letters d WHERE (d.tenant_id, d.id) IN (
        SELECT x.tenant_id, x.id FROM dead_letters x WHERE x.tenant_id = p_tenant AND x.received_at < v_log_cutoff LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('dead_letters', v_n); END IF;
    DELETE FROM model_calls c WHERE (c.tenant_id, c.id) IN (
        SELECT x.tenant_id, x.id FROM model_calls x WHERE x.tenant_id = p_tenant AND x.created_at < v_log_cutoff LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('model_calls', v_n); END IF;
    DELETE FROM jobs j WHERE (j.tenant_id, j.id) IN (
        SELECT x.tenant_id, x.id FROM jobs x
        WHERE x.tenant_id = p_tenant AND x.status IN ('done', 'failed', 'dead') AND x.updated_at < v_log_cutoff LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('jobs', v_n); END IF;
    DELETE FROM idempotency_keys k WHERE (k.scope, k.key) IN (
        SELECT x.scope, x.key FROM idempotency_keys x WHERE x.scope = p_tenant AND x.created_at < p_now - interval '24 hours' LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('idempotency_keys', v_n); END IF;
    UPDATE credit_entries e SET message_id = NULL, reference_id = NULL WHERE (e.tenant_id, e.seq) IN (
        SELECT x.tenant_id, x.seq FROM credit_entries x
        WHERE x.tenant_id = p_tenant AND x.message_id IS NOT NULL
          AND x.created_at < p_now - make_interval(years => COALESCE(v_policy.ledger_years, 5)) LIMIT p_batch);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n > 0 THEN v_counts := v_counts || jsonb_build_object('ledger_entries_anonymized', v_n); END IF;
    RETURN v_counts;
END
$function$;
REVOKE ALL ON FUNCTION retention_sweep_tenant(p_tenant uuid, p_now timestamp with time zone, p_batch integer) FROM PUBLIC;
