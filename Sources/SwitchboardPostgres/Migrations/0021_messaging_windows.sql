-- Meta channels and messaging windows (#19).
--
-- A conversation remembers the platform time of its contact's last inbound message: the
-- messaging window (WhatsApp, Messenger, Instagram: 24 hours free-form, then a tag or a
-- template) runs from it. Set at ingest, backfilled here from the messages stored.
ALTER TABLE conversations ADD COLUMN last_inbound_at timestamptz;
UPDATE conversations c SET last_inbound_at = x.at
FROM (SELECT m.tenant_id, m.conversation_id, max(m.sent_at) AS at FROM messages m
      WHERE m.direction = 'inbound' GROUP BY m.tenant_id, m.conversation_id) x
WHERE c.tenant_id = x.tenant_id AND c.id = x.conversation_id;

-- A message the contact withdrew (Meta's unsend): marked, never answered nor shown to the
-- model again; its text stays only as long as the tenant's retention keeps messages.
-- Why a send failed for good, as a state (`reengagement_required`, `undeliverable`,
-- `rate_limited`, `credentials_rejected`, `send_failed`), beside the platform's words.
-- A person's message sent with a platform tag (`HUMAN_AGENT`), and a template sent in
-- place of free text (`{name, language, parameters}`).
ALTER TABLE messages
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN delivery_error_code text CHECK (delivery_error_code IS NULL OR length(delivery_error_code) <= 64),
    ADD COLUMN send_tag text CHECK (send_tag IS NULL OR length(send_tag) <= 64),
    ADD COLUMN template jsonb CHECK (template IS NULL OR octet_length(template::text) <= 8192);

-- A channel whose platform refused its token (Graph 190) needs new credentials: said on
-- the channel until its credentials change or a send goes through again.
-- And when a verified delivery last arrived (to the minute: the ingest moves it at most
-- once a minute, so a busy channel's row is not written by every batch).
ALTER TABLE channels
    ADD COLUMN credentials_error text,
    ADD COLUMN credentials_error_at timestamptz,
    ADD COLUMN last_event_at timestamptz;

-- A contact known only by a platform id (Instagram's IGSID, Messenger's PSID) has its
-- profile looked up once, through the channel it wrote on, retried with backoff.
ALTER TABLE contacts
    ADD COLUMN profile_channel_id uuid,
    ADD COLUMN profile_retry_at timestamptz,
    ADD COLUMN profile_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX contacts_profile_due ON contacts (profile_retry_at) WHERE profile_retry_at IS NOT NULL;

-- send_context's and record_send's new forms: the placeholders, replaced in the same run
-- by Functions/jobs_and_replies.sql.
CREATE OR REPLACE FUNCTION public.record_send(p_tenant uuid, p_job uuid, p_attempt integer, p_message uuid, p_sent boolean, p_external_id text, p_error text, p_run_after timestamp with time zone, p_time timestamp with time zone, p_error_code text)
 RETURNS void LANGUAGE plpgsql AS $function$ BEGIN END $function$;

-- An unsent message is an event of its own kind.
ALTER TABLE inbound_events DROP CONSTRAINT inbound_events_kind_check;
ALTER TABLE inbound_events ADD CONSTRAINT inbound_events_kind_check CHECK (kind IN ('message', 'edit', 'delete', 'status', 'ignored'));
