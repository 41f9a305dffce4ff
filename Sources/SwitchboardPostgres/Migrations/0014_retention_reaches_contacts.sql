-- The duties the first privacy migration left undone: retention reaches contacts, and a
-- person's messages in groups are exported and erased by who wrote them, not by who the
-- group's conversation happens to belong to.

-- Keep flags: the tenant's (every contact) and one contact's. A kept contact outlives
-- its conversations; its conversations still go by the policy.
ALTER TABLE privacy_policies ADD COLUMN keep_contacts boolean NOT NULL DEFAULT false;
ALTER TABLE contacts ADD COLUMN retention_keep boolean NOT NULL DEFAULT false;

-- A person's own messages, found by author: the export, the erasure, and the retention
-- sweep's check that a contact has nothing left (and the cascade when it goes, which
-- without this index reads every message of the table).
CREATE INDEX messages_author ON messages (tenant_id, contact_id) WHERE contact_id IS NOT NULL;

-- Whether a deal is still open: any stage but the closing ones (stages are the tenant's
-- own words; these are the usual ends of a pipeline, compared without case).
CREATE FUNCTION deal_is_open(p_stage text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT lower(btrim(p_stage)) NOT IN ('won', 'lost', 'closed', 'closed_won', 'closed_lost', 'closed won', 'closed lost',
                                         'cancelled', 'canceled', 'done');
$fn$;

-- Erasure (right to be forgotten), by author: the contact's own messages wherever it
-- wrote them (a group of someone else's included) and our answers to them go; its direct
-- conversations go whole; a group conversation that belongs to it but where others wrote
-- too is handed to the latest other author and keeps their messages. Then everything that
-- hangs off the contact (identities, notes, deals, consents, merges), its raw deliveries
-- and dead letters that carry its platform ids, and idempotency answers that mention it.
-- The ledger keeps its amounts without the message references; the platform's event ids
-- stay as tombstones. Answers what was removed, by kind, or NULL when the contact is not
-- the tenant's.
CREATE OR REPLACE FUNCTION erase_contact(p_tenant uuid, p_contact uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET app.cross_tenant = off AS $fn$
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
$fn$;

-- Access and portability, by author: every conversation the contact owns or wrote in;
-- of a direct chat every message, of a group only its own messages and our answers to
-- them (the other members' messages are theirs). NULL when the contact is not the
-- tenant's.
CREATE OR REPLACE FUNCTION contact_export(p_tenant uuid, p_contact uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
    SELECT jsonb_build_object(
        'contact', to_jsonb(c) - 'tenant_id',
        'identities', COALESCE((SELECT jsonb_agg(to_jsonb(i) - 'tenant_id' ORDER BY i.created_at)
                                FROM contact_identities i WHERE i.tenant_id = p_tenant AND i.contact_id = c.id), '[]'),
        'conversations', COALESCE((
            SELECT jsonb_agg((to_jsonb(v) - 'tenant_id') || jsonb_build_object('messages', COALESCE((
                SELECT jsonb_agg((to_jsonb(m) - 'tenant_id') || jsonb_build_object('edits', COALESCE((
                    SELECT jsonb_agg(to_jsonb(e) - 'tenant_id' ORDER BY e.edited_at)
                    FROM message_edits e WHERE e.tenant_id = p_tenant AND e.message_id = m.id), '[]')) ORDER BY m.seq)
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
$fn$;

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
CREATE OR REPLACE FUNCTION retention_sweep_tenant(p_tenant uuid, p_now timestamptz, p_batch integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET app.cross_tenant = off AS $fn$
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
$fn$;
