-- The inbox: the views of a person's work (mine, unassigned, handed off, with the AI,
-- closed) read along their own partial indexes, edit histories found by their message,
-- deals by their contact, and live events announced by triggers (their functions'
-- definitions are in `Functions/inbox.sql`).
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

-- The triggers need their functions to exist: placeholders here, replaced in the same run
-- by their definitions in `Functions/inbox.sql`, applied right after the migrations (the
-- bodies live in that one file).
CREATE OR REPLACE FUNCTION public.inbox_notify_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION public.inbox_notify_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION public.inbox_notify_conversations_inserted() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION public.inbox_notify_conversations_updated() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN RETURN NULL; END $function$;

CREATE TRIGGER inbox_messages_inserted AFTER INSERT ON messages REFERENCING NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_messages_inserted();
CREATE TRIGGER inbox_messages_updated AFTER UPDATE ON messages REFERENCING OLD TABLE AS inbox_old NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_messages_updated();
CREATE TRIGGER inbox_conversations_inserted AFTER INSERT ON conversations REFERENCING NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_conversations_inserted();
CREATE TRIGGER inbox_conversations_updated AFTER UPDATE ON conversations REFERENCING OLD TABLE AS inbox_old NEW TABLE AS inbox_new
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_conversations_updated();
