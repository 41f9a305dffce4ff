-- The reply context bounded in bytes, not only in messages.
--
-- `reply_context` runs inside the claim statement that serves every tenant, and inside
-- the ingest transaction that takes a job. Its history was bounded by count only (up to
-- 200 messages): a 3 MiB text with 200 messages of history built a document past
-- `jsonb`'s limit, the statement failed, and every claim failed with it while that job
-- was the oldest. Now (the same signature, the same answer for ordinary conversations):
--   - the inbound text and each history text are cut at 16,384 characters (64 KiB at
--     most in UTF-8);
--   - a history message's attachments over 16 KiB (as JSON text) are left out (`[]`);
--   - a group sender's name is cut at 256 characters;
--   - the history keeps the newest messages whose sizes add up to 256 KiB at most.
-- The whole document is then bounded by the agent's own fields plus about 350 KiB.
-- Inbound texts are also capped when they arrive (per channel kind); this holds for
-- texts stored before that, and for the operator's own API.

CREATE OR REPLACE FUNCTION reply_context(p_tenant uuid, p_message uuid) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    v_message messages;
    v_conversation conversations;
    v_channel channels;
    v_agent agents;
    v_chain uuid[];
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT * INTO v_message FROM messages m WHERE m.tenant_id = p_tenant AND m.id = p_message;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_conversation FROM conversations c WHERE c.tenant_id = p_tenant AND c.id = v_message.conversation_id;
    SELECT * INTO v_channel FROM channels ch WHERE ch.tenant_id = p_tenant AND ch.id = v_conversation.channel_id;
    IF v_channel.agent_id IS NOT NULL THEN
        SELECT * INTO v_agent FROM agents a WHERE a.tenant_id = p_tenant AND a.id = v_channel.agent_id;
        -- The agent's provider and its fallbacks' providers.
        v_chain := v_agent.provider_id
            || ARRAY(SELECT (f->>'provider_id')::uuid FROM jsonb_array_elements(COALESCE(v_agent.fallbacks, '[]')) f);
    END IF;
    RETURN message_target(p_tenant, v_conversation.id) || jsonb_build_object(
        'inbound', jsonb_build_object('id', v_message.id, 'text', left(v_message.text, 16384), 'external_id', v_message.external_id),
        -- What the contact's rights and the tenant's policy allow, and the prices of the
        -- chain's provider kinds: read here rather than in two more transactions.
        'privacy', privacy_context(p_tenant, v_conversation.id),
        'prices', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'provider_kind', x.provider_kind, 'model', x.model, 'input', x.input_micros_per_million,
                'cached_input', x.cached_input_micros_per_million, 'output', x.output_micros_per_million,
                'reasoning', x.reasoning_micros_per_million, 'message_fee', x.message_fee_micros, 'override', x.override))
            FROM (SELECT pr.provider_kind, pr.model, pr.input_micros_per_million, pr.cached_input_micros_per_million,
                         pr.output_micros_per_million, pr.reasoning_micros_per_million, pr.message_fee_micros, false AS override
                  FROM prices pr
                  UNION ALL
                  SELECT tp.provider_kind, tp.model, tp.input_micros_per_million, tp.cached_input_micros_per_million,
                         tp.output_micros_per_million, tp.reasoning_micros_per_million, tp.message_fee_micros, true
                  FROM tenant_prices tp WHERE tp.tenant_id = p_tenant) x
            WHERE x.provider_kind IN (SELECT p.kind FROM providers p WHERE p.tenant_id = p_tenant AND p.id = ANY (v_chain))), '[]'),
        'answered', EXISTS (SELECT 1 FROM messages a WHERE a.tenant_id = p_tenant AND a.in_reply_to = p_message AND a.ai_generated),
        'agent', CASE WHEN v_agent.id IS NULL THEN NULL ELSE to_jsonb(v_agent) - 'tenant_id' END,
        'providers', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'id', p.id, 'name', p.name, 'kind', p.kind, 'base_url', p.base_url, 'api_key', encode(p.api_key, 'base64')))
            FROM providers p
            WHERE p.tenant_id = p_tenant AND p.id = ANY (v_chain)), '[]'),
        'history', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('direction', h.direction, 'text', h.text, 'attachments', h.attachments,
                                                'sender', h.sender) ORDER BY h.seq)
            FROM (
                -- The newest messages, as long as their bytes add up to 256 KiB at most. One
                -- message is at most 16,384 characters of text (64 KiB), 16 KiB of attachments
                -- and 256 characters of sender: the newest always fits.
                SELECT s.*, sum(s.size) OVER (ORDER BY s.seq DESC ROWS UNBOUNDED PRECEDING) AS running
                FROM (
                    SELECT b.*, COALESCE(octet_length(b.text), 0) + octet_length(b.attachments::text)
                                + COALESCE(octet_length(b.sender), 0) AS size
                    FROM (
                        -- In a group the model is told who said what (the sender's name, else its id).
                        SELECT m.direction, left(m.text, 16384) AS text, m.seq,
                               CASE WHEN octet_length(m.attachments::text) <= 16384 THEN m.attachments ELSE '[]'::jsonb END
                                   AS attachments,
                               CASE WHEN v_conversation.chat_kind <> 'direct' AND m.direction = 'inbound' THEN
                                   (SELECT left(COALESCE(ct.display_name, ct.username, ct.id::text), 256) FROM contacts ct
                                    WHERE ct.tenant_id = p_tenant AND ct.id = m.contact_id) END AS sender
                        FROM messages m
                        WHERE m.tenant_id = p_tenant AND m.conversation_id = v_conversation.id AND m.seq <= v_message.seq
                          AND COALESCE(m.delivery_status, '') <> 'failed'
                        ORDER BY m.seq DESC LIMIT COALESCE(v_agent.history_messages, 20)
                    ) b
                ) s
            ) h
            WHERE h.running <= 262144), '[]')
    );
END
$fn$;

