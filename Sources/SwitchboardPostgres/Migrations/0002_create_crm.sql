-- Channels, the CRM (contacts, identities, conversations, messages, notes, deals), the
-- inbound event log that dedupes deliveries, dead letters, and the job outbox.
--
-- Every table is tenant-owned: tenant_id first in the primary key, foreign keys only
-- within one tenant, row-level security ENABLEd and FORCEd (0001 explains the policy).

CREATE TABLE channels (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    kind text NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    agent_id uuid,
    enabled boolean NOT NULL DEFAULT true,
    -- AES-GCM sealed JSON of the credentials (nonce || ciphertext || tag), bound to
    -- (tenant_id, id) as associated data. NULL once the channel is deleted.
    credentials bytea,
    credential_fields text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX channels_listing ON channels (tenant_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE contacts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    display_name text,
    phone text,
    email text,
    username text,
    language text,
    tags text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_listing ON contacts (tenant_id, created_at, id);

-- How a contact is known on a platform. A person is found by (channel kind, external
-- id): the same Telegram user writing to two bots of one tenant is one contact.
CREATE TABLE contact_identities (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    contact_id uuid NOT NULL,
    channel_kind text NOT NULL,
    external_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, channel_kind, external_id),
    -- Deferred: ingest claims the identity first and creates the contact only when the
    -- claim wins, so two concurrent first messages never make two contacts.
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX contact_identities_contact ON contact_identities (tenant_id, contact_id);

CREATE TABLE contact_merges (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    target_contact_id uuid NOT NULL,
    source_contact_id uuid NOT NULL,
    moved jsonb NOT NULL DEFAULT '{}',
    merged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE conversations (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    channel_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    -- The chat replies go to: the person's private chat, or the group.
    chat_external_id text NOT NULL,
    chat_kind text NOT NULL DEFAULT 'direct' CHECK (chat_kind IN ('direct', 'group', 'channel')),
    title text,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
-- One open conversation per chat of a channel.
CREATE UNIQUE INDEX conversations_open_chat ON conversations (tenant_id, channel_id, chat_external_id) WHERE status = 'open';
CREATE INDEX conversations_listing ON conversations (tenant_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id);

CREATE TABLE messages (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    -- The sender of an inbound message; NULL for ours.
    contact_id uuid,
    direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    -- The platform's id of the message (edits and statuses find it by this).
    external_id text,
    text text,
    attachments jsonb NOT NULL DEFAULT '[]',
    ai_generated boolean NOT NULL DEFAULT false,
    -- Outbound delivery state: pending, sent, delivered, read, failed.
    delivery_status text,
    delivery_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz,
    -- Ordering key of a conversation's messages (a sequence: times can tie).
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation ON messages (tenant_id, conversation_id, seq);
CREATE INDEX messages_external ON messages (tenant_id, channel_id, external_id) WHERE external_id IS NOT NULL;

-- The history of edited messages: the text before each edit.
CREATE TABLE message_edits (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    message_id uuid NOT NULL,
    previous_text text,
    edited_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);

-- Every verified event, once: the dedupe log. A redelivery finds its event here and
-- changes nothing. Keeps the raw delivery it came in.
CREATE TABLE inbound_events (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    channel_id uuid NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('message', 'edit', 'status', 'ignored')),
    message_id uuid,
    ignored_reason text,
    payload text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, channel_id, event_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);

-- Verified deliveries that could not be parsed, kept for inspection.
CREATE TABLE dead_letters (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    channel_id uuid NOT NULL,
    reason text NOT NULL,
    content_type text,
    body bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);

-- The outbox: work that follows a commit (a reply to generate, a message to send).
CREATE TABLE jobs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    kind text NOT NULL,
    message_id uuid,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    run_after timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_ready ON jobs (run_after) WHERE status = 'queued';

CREATE TABLE notes (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    contact_id uuid NOT NULL,
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_contact ON notes (tenant_id, contact_id, created_at, id);

CREATE TABLE deals (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    contact_id uuid NOT NULL,
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    stage text NOT NULL CHECK (char_length(stage) BETWEEN 1 AND 100),
    amount_minor bigint CHECK (amount_minor >= 0),
    currency text CHECK (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
    CHECK ((amount_minor IS NULL) = (currency IS NULL))
);
CREATE INDEX deals_listing ON deals (tenant_id, created_at, id);

-- Row-level security on every table of this migration.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channels', 'contacts', 'contact_identities', 'contact_merges', 'conversations',
                             'messages', 'message_edits', 'inbound_events', 'dead_letters', 'jobs', 'notes', 'deals']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
    END LOOP;
END $$;

-- A delivery names only its channel: it may read that one channel row to learn its
-- tenant, kind and credentials (SET LOCAL app.channel_id), and nothing else.
CREATE POLICY channel_lookup ON channels FOR SELECT
    USING (id = NULLIF(current_setting('app.channel_id', true), '')::uuid);

-- Ingest of one verified, parsed delivery, in the caller's transaction: one statement,
-- so a delivery costs one round trip. `events` is a JSON array of normalized events:
--   {event_id, kind, message_id?, sender?: {external_id, name?, username?, phone?,
--    email?, language?, alternate_ids?: []}, chat?: {external_id, kind, title?},
--    text?, attachments?: [], sent_at?, status?, status_error?, ignored_reason?}
-- Answers one row per event: its event id, whether it was new, and the message it made
-- or touched. Runs as the caller (SECURITY INVOKER): row-level security applies.
CREATE FUNCTION ingest_delivery(p_tenant uuid, p_channel uuid, p_channel_kind text, p_payload text, p_events jsonb)
RETURNS TABLE (event_id text, created boolean, message_id uuid)
LANGUAGE plpgsql AS $fn$
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
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    FOR e IN SELECT * FROM jsonb_array_elements(p_events) LOOP
        v_kind := e->>'kind';
        event_id := e->>'event_id';
        message_id := NULL;
        v_message := NULL;
        v_sent := COALESCE((e->>'sent_at')::timestamptz, now());

        -- Dedupe: claim the event id; a redelivery finds it taken and changes nothing. A new
        -- message's id is chosen here, so the event row is written once.
        v_event := gen_random_uuid();
        IF v_kind = 'message' THEN
            v_message := gen_random_uuid();
        END IF;
        INSERT INTO inbound_events AS ie (tenant_id, id, channel_id, event_id, kind, message_id, ignored_reason, payload)
        VALUES (p_tenant, v_event, p_channel, e->>'event_id', v_kind, v_message, e->>'ignored_reason', p_payload)
        ON CONFLICT (tenant_id, channel_id, event_id) DO NOTHING;
        IF NOT FOUND THEN
            created := false;
            SELECT ie.message_id INTO message_id FROM inbound_events ie
            WHERE ie.tenant_id = p_tenant AND ie.channel_id = p_channel AND ie.event_id = e->>'event_id';
            RETURN NEXT;
            CONTINUE;
        END IF;
        created := true;

        IF v_kind = 'message' THEN
            -- The contact: claim the identity; only the winner of a race creates the contact.
            v_identity := e->'sender'->>'external_id';
            v_contact := gen_random_uuid();
            INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id)
            VALUES (p_tenant, gen_random_uuid(), v_contact, p_channel_kind, v_identity)
            ON CONFLICT (tenant_id, channel_kind, external_id) DO NOTHING;
            IF FOUND THEN
                INSERT INTO contacts (tenant_id, id, display_name, phone, email, username, language, last_seen_at)
                VALUES (p_tenant, v_contact, e->'sender'->>'name', e->'sender'->>'phone', e->'sender'->>'email',
                        e->'sender'->>'username', e->'sender'->>'language', v_sent);
            ELSE
                SELECT ci.contact_id INTO v_contact FROM contact_identities ci
                WHERE ci.tenant_id = p_tenant AND ci.channel_kind = p_channel_kind AND ci.external_id = v_identity;
                -- Only when something changes: last seen moves on by the minute, and blank
                -- fields take what the platform now tells.
                UPDATE contacts c SET last_seen_at = GREATEST(c.last_seen_at, v_sent),
                    display_name = COALESCE(c.display_name, e->'sender'->>'name'),
                    username = COALESCE(c.username, e->'sender'->>'username'),
                    phone = COALESCE(c.phone, e->'sender'->>'phone'),
                    email = COALESCE(c.email, e->'sender'->>'email')
                WHERE c.tenant_id = p_tenant AND c.id = v_contact
                  AND (c.last_seen_at IS NULL OR c.last_seen_at < v_sent - interval '1 minute'
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

            -- The conversation: the open one of this chat, or a new one.
            v_chat := COALESCE(e->'chat'->>'external_id', v_identity);
            v_conversation := gen_random_uuid();
            INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, chat_kind, title, last_message_at)
            VALUES (p_tenant, v_conversation, p_channel, v_contact, v_chat, COALESCE(e->'chat'->>'kind', 'direct'),
                    e->'chat'->>'title', v_sent)
            ON CONFLICT (tenant_id, channel_id, chat_external_id) WHERE status = 'open' DO NOTHING;
            IF NOT FOUND THEN
                SELECT cv.id INTO v_conversation FROM conversations cv
                WHERE cv.tenant_id = p_tenant AND cv.channel_id = p_channel AND cv.chat_external_id = v_chat
                  AND cv.status = 'open';
                UPDATE conversations cv SET last_message_at = v_sent
                WHERE cv.tenant_id = p_tenant AND cv.id = v_conversation AND cv.last_message_at < v_sent;
            END IF;

            INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, external_id, text,
                                  attachments, sent_at)
            VALUES (p_tenant, v_message, v_conversation, p_channel, v_contact, 'inbound', e->>'message_id', e->>'text',
                    COALESCE(e->'attachments', '[]'), v_sent);
            -- The outbox: the reply worker takes it after the commit.
            INSERT INTO jobs (tenant_id, id, kind, message_id) VALUES (p_tenant, gen_random_uuid(), 'reply', v_message);

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
END
$fn$;

-- Group commit: several deliveries (of any tenants) in one transaction, one after the
-- other, each under its own tenant scope. `batch` is a JSON array of
-- {tenant, channel, kind, payload, events}; answers the delivery's index with each row.
CREATE FUNCTION ingest_deliveries(p_batch jsonb)
RETURNS TABLE (delivery integer, event_id text, created boolean, message_id uuid)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    d jsonb;
    r record;
    i integer := 0;
BEGIN
    FOR d IN SELECT * FROM jsonb_array_elements(p_batch) LOOP
        FOR r IN SELECT * FROM ingest_delivery((d->>'tenant')::uuid, (d->>'channel')::uuid, d->>'kind', d->>'payload', d->'events')
        LOOP
            delivery := i;
            event_id := r.event_id;
            created := r.created;
            message_id := r.message_id;
            RETURN NEXT;
        END LOOP;
        i := i + 1;
    END LOOP;
END
$fn$;

GRANT SELECT, INSERT, UPDATE, DELETE ON channels, contacts, contact_identities, contact_merges, conversations, messages,
    message_edits, inbound_events, dead_letters, jobs, notes, deals TO switchboard_app;
GRANT EXECUTE ON FUNCTION ingest_delivery(uuid, uuid, text, text, jsonb) TO switchboard_app;
GRANT EXECUTE ON FUNCTION ingest_deliveries(jsonb) TO switchboard_app;
