-- Channels whose messages the server fetches (a mailbox over IMAP, Telegram's getUpdates):
-- where each one's next fetch starts. Saved only after what a fetch brought is stored, so a
-- fetch repeated after a crash brings the same events, which the ingest stores once.
ALTER TABLE channels ADD COLUMN pull_cursor text CHECK (char_length(pull_cursor) <= 2048);
