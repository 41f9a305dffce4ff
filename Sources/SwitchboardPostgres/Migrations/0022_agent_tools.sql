-- Agents that act (#20): an agent's tools, and every tool call its loop made.
--
-- `agents.tools` is the list of tools the model may call (`[{"builtin": "note_add"}, …]`).
ALTER TABLE agents ADD COLUMN tools jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(tools) = 'array' AND jsonb_array_length(tools) <= 16);

-- Each tool call of a reply, with its result, on the inbound message it answered. The key
-- (message, round, what the call does: its tool and arguments, `call_key`) makes a retried
-- reply find a call already done instead of doing it again — a retried job's model gives
-- its calls new ids, not new arguments; the rows go with their message (erasure,
-- retention, deletion).
CREATE TABLE message_tool_calls (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    message_id uuid NOT NULL,
    round integer NOT NULL CHECK (round BETWEEN 1 AND 16),
    call_id text NOT NULL CHECK (char_length(call_id) BETWEEN 1 AND 256),
    call_key text NOT NULL CHECK (char_length(call_key) = 32),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 256),
    arguments text NOT NULL CHECK (char_length(arguments) <= 16384),
    result text NOT NULL CHECK (char_length(result) <= 4096),
    is_error boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, message_id, round, call_key),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE message_tool_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_tool_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_tool_calls
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON message_tool_calls TO switchboard_app;

-- The owner's cross-tenant policy (0011) on the new table, like on every other.
DO $$
DECLARE
    v_table regclass;
BEGIN
    FOR v_table IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relrowsecurity
          AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'definer_cross_tenant')
    LOOP
        EXECUTE format($p$CREATE POLICY definer_cross_tenant ON %s TO %I
            USING (current_setting('app.cross_tenant', true) = 'on')
            WITH CHECK (current_setting('app.cross_tenant', true) = 'on')$p$, v_table, current_user);
    END LOOP;
END $$;
