-- The inbox: the views of a person's work (mine, unassigned, handed off, with the AI,
-- closed) read along their own partial indexes, edit histories found by their message,
-- deals by their contact, and live events announced by triggers (`Functions/inbox.sql`
-- holds the trigger functions' current definitions; they are created here first because
-- the triggers need them).
--
-- Search has no trigram index: pg_trgm needs CREATE on the database, which the owner role
-- (0011, NOSUPERUSER, CONNECT and TEMPORARY only) does not have. The inbox's search is
-- bounded instead (PostgresInboxStore.searchWindow).

CREATE INDEX conversations_open_mode ON conversations (tenant_id, mode, last_message_at DESC, id DESC) WHERE status = 'open';
CREATE INDEX conversations_unassigned ON conversations (tenant_id, last_message_at DESC, id DESC)
    WHERE status = 'open' AND assignee_user_id IS NULL;
CREATE INDEX conversations_closed ON conversations (tenant_id, last_message_at DESC, id DESC) WHERE status = 'closed';
CREATE INDEX conversations_mine ON conversations (tenant_id, assignee_user_id, last_message_at DESC, id DESC)
    WHERE status = 'open' AND assignee_user_id IS NOT NULL;
CREATE INDEX message_edits_message ON message_edits (tenant_id, message_id, edited_at);
CREATE INDEX deals_contact ON deals (tenant_id, contact_id, created_at);

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

CREATE TRIGGER inbox_messages_inserted AFTER INSERT ON messages REFERENCING NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_messages_inserted();
CREATE TRIGGER inbox_messages_updated AFTER UPDATE ON messages REFERENCING OLD TABLE AS inbox_old NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_messages_updated();
CREATE TRIGGER inbox_conversations_inserted AFTER INSERT ON conversations REFERENCING NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_conversations_inserted();
CREATE TRIGGER inbox_conversations_updated AFTER UPDATE ON conversations REFERENCING OLD TABLE AS inbox_old NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_conversations_updated();
