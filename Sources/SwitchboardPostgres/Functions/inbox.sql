-- The inbox's live events: every change an inbox shows is announced on the channel
-- `switchboard_inbox` (LISTENed to by one connection per process, `LiveEvents`), as JSON
-- {"t": tenant, "c": conversation, "k": kind, "m": message?}. Statement-level triggers
-- with transition tables: one call per statement whatever it touched; a statement of more
-- than 100 rows announces one `resync` per tenant instead, so a bulk change stays cheap.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

CREATE OR REPLACE FUNCTION public.inbox_notify_messages_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_rows integer;
BEGIN
    SELECT count(*) INTO v_rows FROM (SELECT 1 FROM inbox_new LIMIT 101) s;
    IF v_rows > 100 THEN
        -- A bulk statement (an import, a seed): one resync per tenant instead of a flood.
        PERFORM pg_notify('switchboard_inbox', json_build_object('t', t.tenant_id, 'k', 'resync')::text)
        FROM (SELECT DISTINCT tenant_id FROM inbox_new) t;
    ELSE
        PERFORM pg_notify('switchboard_inbox',
            json_build_object('t', n.tenant_id, 'c', n.conversation_id, 'k', 'message', 'm', n.id)::text)
        FROM inbox_new n;
    END IF;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION public.inbox_notify_messages_updated()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_rows integer;
BEGIN
    SELECT count(*) INTO v_rows FROM (SELECT 1 FROM inbox_new LIMIT 101) s;
    IF v_rows > 100 THEN
        PERFORM pg_notify('switchboard_inbox', json_build_object('t', t.tenant_id, 'k', 'resync')::text)
        FROM (SELECT DISTINCT tenant_id FROM inbox_new) t;
        RETURN NULL;
    END IF;
    PERFORM pg_notify('switchboard_inbox',
        json_build_object('t', n.tenant_id, 'c', n.conversation_id,
                          'k', CASE WHEN n.delivery_status IS DISTINCT FROM o.delivery_status THEN 'status' ELSE 'edited' END,
                          'm', n.id)::text)
    FROM inbox_new n JOIN inbox_old o ON o.tenant_id = n.tenant_id AND o.id = n.id
    WHERE n.delivery_status IS DISTINCT FROM o.delivery_status OR n.text IS DISTINCT FROM o.text;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION public.inbox_notify_conversations_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_rows integer;
BEGIN
    SELECT count(*) INTO v_rows FROM (SELECT 1 FROM inbox_new LIMIT 101) s;
    IF v_rows > 100 THEN
        PERFORM pg_notify('switchboard_inbox', json_build_object('t', t.tenant_id, 'k', 'resync')::text)
        FROM (SELECT DISTINCT tenant_id FROM inbox_new) t;
    ELSE
        PERFORM pg_notify('switchboard_inbox', json_build_object('t', n.tenant_id, 'c', n.id, 'k', 'conversation')::text)
        FROM inbox_new n;
    END IF;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION public.inbox_notify_conversations_updated()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_rows integer;
BEGIN
    SELECT count(*) INTO v_rows FROM (SELECT 1 FROM inbox_new LIMIT 101) s;
    IF v_rows > 100 THEN
        PERFORM pg_notify('switchboard_inbox', json_build_object('t', t.tenant_id, 'k', 'resync')::text)
        FROM (SELECT DISTINCT tenant_id FROM inbox_new) t;
        RETURN NULL;
    END IF;
    -- One event per change that matters to an inbox; an ingest's move of last_message_at
    -- alone says nothing (the message's own event does).
    PERFORM pg_notify('switchboard_inbox', json_build_object('t', c.tenant_id, 'c', c.id, 'k', c.kind)::text)
    FROM (
        SELECT n.tenant_id, n.id, CASE WHEN n.status = 'closed' THEN 'closed' ELSE 'reopened' END AS kind
        FROM inbox_new n JOIN inbox_old o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE n.status IS DISTINCT FROM o.status
        UNION ALL
        SELECT n.tenant_id, n.id, CASE WHEN n.mode = 'human' THEN 'handed_off' ELSE 'resumed' END
        FROM inbox_new n JOIN inbox_old o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE n.mode IS DISTINCT FROM o.mode
        UNION ALL
        SELECT n.tenant_id, n.id, 'assigned'
        FROM inbox_new n JOIN inbox_old o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE n.assignee_user_id IS DISTINCT FROM o.assignee_user_id
    ) c;
    RETURN NULL;
END
$function$;
