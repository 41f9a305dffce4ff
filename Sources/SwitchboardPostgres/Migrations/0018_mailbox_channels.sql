-- Mailboxes as channels (an IMAP inbox, fetched by the server), and what they need of the
-- rest of the schema.
--
-- A pulled channel is fetched by one replica at a time: it holds a lease (owner, until),
-- renewed while its loop runs, so a replica that dies hands the channel over once the
-- lease runs out. The loop's state is kept beside it for the API: connecting, connected or
-- failing, the last error and when it retries.
ALTER TABLE channels
    ADD COLUMN pull_owner text CHECK (char_length(pull_owner) <= 200),
    ADD COLUMN pull_lease_until timestamptz,
    ADD COLUMN pull_state text CHECK (pull_state IN ('connecting', 'connected', 'failing')),
    ADD COLUMN pull_error text CHECK (char_length(pull_error) <= 1000),
    ADD COLUMN pull_retry_at timestamptz,
    ADD COLUMN pull_checked_at timestamptz;

-- The listing answers the lease now, so a replica claims only what nobody holds.
DROP FUNCTION IF EXISTS pulled_channels(text[]);

-- The per-contact reply limit counts a contact's recent inbound messages on a channel (two
-- auto-responders answering each other): newest first, stopping at the limit.
CREATE INDEX messages_inbound_recent ON messages (tenant_id, contact_id, created_at DESC) WHERE direction = 'inbound';
