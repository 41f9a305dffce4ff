-- Analytics benchmark seed: one big tenant (10M messages over a year) and many small ones
-- (about 1,000 messages each over the same year), with the rows the analytics read —
-- channels, providers, agents, contacts and identities, conversations (final state),
-- messages, model calls, credit captures, conversation events — then the rollups of the
-- whole year (analytics_refresh_window) and VACUUM ANALYZE.
--
--   psql -v ON_ERROR_STOP=1 [-v messages=10000000] [-v tenants=1000] [-v small_messages=1000]
--        [-v chunk_messages=1000000] [-v refresh_step='1 month'] [-v fk_checks=off]
--        -f Benchmarks/analytics-seed.sql "$DATABASE_URL"
--
-- Run it as a superuser on a database where every migration is applied and that
-- holds no tenant yet. Deterministic: every id, time offset, length, status and count is a
-- function of the row's number (hashint8extended, md5), never random(); only the anchor,
-- the end of the year, is the minute the seed starts (all times are relative to it).
--
-- Shape (per conversation, ~10 messages = 1–9 exchanges of an inbound and its reply):
--   * an inbound (contact_id set) then its reply: an AI answer (ai_generated, agent,
--     provider, model, tokens, latency, in_reply_to = the inbound) while the conversation
--     is the agent's; a person's reply (not AI) after a handoff;
--   * ~8% of conversations are handed off at one exchange: by keyword (reply_status
--     'handed_off', ~85%) or because every provider failed (reply_status 'failed', two
--     error calls, ~15%); later inbounds are 'skipped' (a person answers them), as the
--     reply worker does; the conversation gets mode 'human', handoff_at/_reason and a
--     'handoff' event;
--   * model calls: one ok call per AI answer (latency 200–3000 ms); ~1% answered by the
--     fallback target after an error or cooldown on the agent's own (the fallbacks the
--     rollup counts), ~1% after a rate_limited retry of the same target, plus the two
--     error calls of each failed reply;
--   * delivery: ~1.5% of replies 'failed', the rest sent/delivered/read;
--   * contacts: a contact writes on one channel, comes back after ~1 day, 1 week, 1 month
--     and 2 months (the big tenant) so conversations of one chat never overlap; some
--     contacts date from before the year. Every conversation but the last of its chat is
--     closed (the unique index conversations_open_chat allows one open conversation per
--     chat, and ingest would otherwise have appended to it); 30% of the last ones too;
--   * credits: one top-up (and a trial for the small tenants) before the year, then one
--     capture per AI answer at the answer's time, priced from `prices`, with
--     balance_after_micros the running balance in seq order (held amounts 0: the form of
--     a capture taken from the available balance; holds and releases are not seeded).
-- Not seeded (the analytics never read them): inbound_events, jobs, credit holds/releases,
-- notes, deals, consents, audit log.

\set ON_ERROR_STOP 1
\if :{?messages} \else \set messages 10000000 \endif
\if :{?tenants} \else \set tenants 1000 \endif
\if :{?small_messages} \else \set small_messages 1000 \endif
\if :{?chunk_messages} \else \set chunk_messages 1000000 \endif
\if :{?refresh_step} \else \set refresh_step '1 month' \endif
-- fk_checks=off (the default) loads the chunks with session_replication_role = replica: the
-- foreign keys' triggers do not run (a third less time); CHECKs, NOT NULLs and unique
-- indexes still do. The rows are made to satisfy every foreign key (a run with
-- fk_checks=on proves it at any size: the generator is the same); fk_checks=on checks them.
\if :{?fk_checks} \else \set fk_checks off \endif

-- Bulk-load settings for this session only (the cluster's own settings are the caller's).
SET synchronous_commit = off;
SET wal_compression = off;  -- full-page images compressed with pglz cost CPU the 2 cores lack
SET work_mem = '1GB';  -- a chunk's sort of 1M messages stays in memory
SET maintenance_work_mem = '1GB';
SET temp_buffers = '1GB';
SET jit = off;
SET client_min_messages = notice;
\timing on

SELECT extract(epoch FROM clock_timestamp()) AS seed_t0 \gset
\echo '== seed: plan (messages=' :messages ', tenants=' :tenants ', small_messages=' :small_messages ')'

-- Deterministic helpers (session-local, gone with the session).
-- A uniform number in [0, 1) from a key and a salt.
CREATE FUNCTION pg_temp.hf(k bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (hashint8extended(k, salt) & 16777215)::float8 / 16777216.0 $$;
-- A version-4-shaped uuid from a tag and a key: random-looking (as gen_random_uuid's are,
-- so the primary keys grow as they do in production) but the same on every run.
CREATE FUNCTION pg_temp.uid(tag text, k bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT overlay(overlay(md5(tag || k::text) placing '4' from 13) placing '8' from 17)::uuid $$;

CREATE TEMP TABLE seed_param AS
SELECT :messages::bigint AS messages, :tenants::int AS tenants, :small_messages::bigint AS small_messages,
       date_trunc('minute', now()) AS t_end,
       date_trunc('minute', now()) - interval '365 days' AS t_start,
       -- conversations open within [t_start, t_start + span): the last ones end (closed
       -- included) before t_end
       interval '365 days' - interval '3 hours' AS span,
       greatest(1, ceil((:messages::numeric + :tenants::numeric * :small_messages) / :chunk_messages))::int AS n_chunks,
       repeat('Hello, I would like to know more about the delivery options for my order and whether ' ||
              'the price includes tax. Could you also tell me when the store opens tomorrow morning? ' ||
              'Thanks a lot for the quick answer, that helps. Our team will check the status and ' ||
              'come back to you shortly with the tracking number and the expected delivery date. ', 2) AS lorem;

-- Tenants: number 0 is the big one; 1..N the small ones. A conversation has on average
-- 5 exchanges (10 messages). `r` conversations per "round" of contacts: one from a new
-- contact, r-1 from contacts coming back after offs[s] rounds.
CREATE TEMP TABLE seed_tenant AS
SELECT x.tno, x.tenant_id, x.name, x.n_conv, x.r, q.q,
       (ARRAY[0, 1 + round(q.q / 365.0), 2 + round(q.q / 52.0), 3 + round(q.q / 12.0), 4 + round(q.q / 6.0)]::bigint[])[1:x.r] AS offs
FROM (
    SELECT 0 AS tno, '00000000-0000-4000-8000-000000000001'::uuid AS tenant_id, 'Analytics Bench Big Tenant' AS name,
           greatest(1, round(p.messages / 10.0))::bigint AS n_conv, 5 AS r
    FROM seed_param p
    UNION ALL
    SELECT t, ('00000000-0000-4000-8000-' || lpad(to_hex(t + 1), 12, '0'))::uuid, 'Analytics Bench Small Tenant ' || t,
           greatest(1, round(p.small_messages / 10.0))::bigint, 2
    FROM seed_param p, generate_series(1, p.tenants) t
) x
CROSS JOIN LATERAL (SELECT ceil(x.n_conv::numeric / x.r)::bigint AS q) q;

-- Channels with their agent, the agent's provider and model, and its fallback target.
-- Big tenant: telegram and webhook answered by an OpenAI agent (fallback Anthropic),
-- whatsapp by an Anthropic agent (fallback OpenAI). A small tenant: one channel (kind by
-- turns), one provider (OpenAI or Anthropic), one agent falling back to another model of
-- the same provider.
CREATE TEMP TABLE seed_channel AS
SELECT t.tno, t.tenant_id, c.ch, pg_temp.uid('ch', t.tno * 8 + c.ch) AS channel_id, c.kind, c.name, c.agent_no,
       pg_temp.uid('ag', t.tno * 8 + c.agent_no) AS agent_id,
       pg_temp.uid('pr', t.tno * 8 + c.p_no) AS p_id, c.p_kind, c.p_model,
       pg_temp.uid('pr', t.tno * 8 + c.f_no) AS f_id, c.f_kind, c.f_model
FROM seed_tenant t
CROSS JOIN LATERAL (
    SELECT * FROM (VALUES
        (0, 'telegram', 'Telegram bot', 0, 0, 'openai', 'gpt-4o-mini', 1, 'anthropic', 'claude-haiku-4-5'),
        (1, 'whatsapp', 'WhatsApp Business', 1, 1, 'anthropic', 'claude-haiku-4-5', 0, 'openai', 'gpt-4o-mini'),
        (2, 'webhook', 'Website chat', 0, 0, 'openai', 'gpt-4o-mini', 1, 'anthropic', 'claude-haiku-4-5')
    ) v(ch, kind, name, agent_no, p_no, p_kind, p_model, f_no, f_kind, f_model)
    WHERE t.tno = 0
    UNION ALL
    SELECT 0, (ARRAY['telegram', 'whatsapp', 'webhook'])[1 + t.tno % 3], 'Support channel', 0, 0,
           CASE WHEN t.tno % 2 = 1 THEN 'openai' ELSE 'anthropic' END,
           CASE WHEN t.tno % 2 = 1 THEN 'gpt-4o-mini' ELSE 'claude-haiku-4-5' END,
           0,
           CASE WHEN t.tno % 2 = 1 THEN 'openai' ELSE 'anthropic' END,
           CASE WHEN t.tno % 2 = 1 THEN 'gpt-4.1-mini' ELSE 'claude-sonnet-4-5' END
    WHERE t.tno > 0
) c;

-- Every conversation's plan: its contact, channel, time, length, handoff and close.
CREATE TEMP TABLE seed_conv AS
WITH base AS (
    SELECT t.tno, t.tenant_id, t.n_conv, t.r, t.offs, k, (t.tno::bigint << 32) + k AS gk,
           -- the contact: the round's new one (s = 0) or one from offs[s] rounds before
           k / t.r - t.offs[(k % t.r)::int + 1] + t.offs[t.r] AS ci,
           t.offs[t.r] AS omax
    FROM seed_tenant t CROSS JOIN LATERAL generate_series(0::bigint, t.n_conv - 1) k
), planned AS (
    SELECT b.tno, b.tenant_id, b.k, b.gk, b.ci,
           (b.k * p.n_chunks / b.n_conv)::int AS chunk,
           CASE WHEN b.tno > 0 THEN 0
                WHEN pg_temp.hf((b.tno::bigint << 32) + b.ci, 21) < 0.50 THEN 0
                WHEN pg_temp.hf((b.tno::bigint << 32) + b.ci, 21) < 0.85 THEN 1
                ELSE 2 END AS ch,
           p.t_start + p.span * ((b.k + 0.5 + 0.9 * (pg_temp.hf(b.gk, 1) - 0.5)) / b.n_conv) AS created_at,
           -- when the contact first wrote: its round's first conversation (before the year
           -- for contacts from earlier rounds)
           p.t_start + p.span * (((b.ci - b.omax) * b.r + 0.5 + 0.9 * (pg_temp.hf((b.tno::bigint << 32) + (b.ci - b.omax) * b.r, 1) - 0.5)) / b.n_conv)
               AS contact_created_at,
           1 + ((b.k * 4 + b.tno) % 9)::int AS pairs,
           make_interval(secs => 40 + floor(pg_temp.hf(b.gk, 2) * 560)) AS gap,
           CASE WHEN pg_temp.hf(b.gk, 3) < 0.08 THEN floor(pg_temp.hf(b.gk, 4) * (1 + ((b.k * 4 + b.tno) % 9)))::int END AS hslot,
           CASE WHEN pg_temp.hf(b.gk, 5) < 0.15 THEN 'provider_error' ELSE 'keyword' END AS hreason,
           make_interval(secs => 300 + floor(pg_temp.hf(b.gk, 7) * 3300)) AS close_delay,
           pg_temp.hf(b.gk, 6) < 0.30 AS close_if_last,
           lead(b.k) OVER (PARTITION BY b.tno, b.ci ORDER BY b.k) IS NULL AS is_last
    FROM base b, seed_param p
)
SELECT pl.tno, pl.tenant_id, pl.k, pl.gk, pl.chunk, pg_temp.uid('v', pl.gk) AS conv_id,
       pl.ci, pg_temp.uid('c', (pl.tno::bigint << 32) + pl.ci) AS contact_id, pl.contact_created_at,
       pl.ch, c.channel_id, c.kind AS channel_kind, c.agent_id, c.p_id, c.p_kind, c.p_model, c.f_id, c.f_kind, c.f_model,
       CASE c.kind WHEN 'telegram' THEN (100000000 + pl.ci * 7)::text
                   WHEN 'whatsapp' THEN '7701' || lpad(pl.ci::text, 7, '0')
                   ELSE 'visitor-' || pl.ci END AS chat_external_id,
       pl.created_at, pl.pairs, pl.gap, pl.hslot, CASE WHEN pl.hslot IS NOT NULL THEN pl.hreason END AS hreason,
       pl.close_delay, (NOT pl.is_last OR pl.close_if_last) AS closed
FROM planned pl
JOIN seed_channel c ON c.tno = pl.tno AND c.ch = pl.ch
ORDER BY pl.chunk, pl.created_at;
CREATE INDEX ON seed_conv (chunk);
ANALYZE seed_conv;

SELECT count(*) AS conversations, sum(pairs) * 2 AS messages, count(DISTINCT (tno, ci)) AS contacts,
       round(avg(closed::int), 3) AS closed_share, round(avg((hslot IS NOT NULL)::int), 3) AS handoff_share,
       max(chunk) + 1 AS chunks
FROM seed_conv;

-- The exchanges of one chunk of conversations: every time, id, status and number the
-- messages, model calls and captures of the chunk are made from.
CREATE TEMP TABLE seed_slot (
    tno int, tenant_id uuid, gk bigint, sk bigint, j int, conv_id uuid, channel_id uuid, channel_kind text, contact_id uuid,
    agent_id uuid, p_id uuid, p_kind text, p_model text, f_id uuid, f_kind text, f_model text,
    state text, pattern int, e1_code text, e1_lat int, e2_code text, e2_lat int, lat int, inp int, cached int, outp int,
    in_id uuid, out_id uuid, in_at timestamptz, out_at timestamptz, calls_at timestamptz, handoff_at timestamptz, dstat text
);

-- Credits spent so far per tenant, carried from chunk to chunk (running balances).
CREATE TEMP TABLE seed_balance (tenant_id uuid PRIMARY KEY, initial bigint NOT NULL, spent bigint NOT NULL DEFAULT 0);

CREATE FUNCTION pg_temp.seed_chunk(p_chunk int) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_slots bigint;
    v_conversations bigint;
    v_messages bigint;
    v_calls bigint;
    v_captures bigint;
    v_step timestamptz := clock_timestamp();
    v_steps text := '';
BEGIN
    TRUNCATE seed_slot;
    INSERT INTO seed_slot
    SELECT x.tno, x.tenant_id, x.gk, x.sk, x.j, x.conv_id, x.channel_id, x.channel_kind, x.contact_id,
           x.agent_id, x.p_id, x.p_kind, x.p_model, x.f_id, x.f_kind, x.f_model,
           x.state, x.pattern, x.e1_code, x.e1_lat, x.e2_code, x.e2_lat, x.lat, x.inp, x.cached, x.outp,
           pg_temp.uid('m', x.sk * 2), pg_temp.uid('m', x.sk * 2 + 1), x.in_at,
           -- the reply: the AI's once its calls are done; a person's about half-way to the next inbound
           CASE WHEN x.state = 'ai' THEN x.calls_at ELSE x.in_at + x.gap * 0.5 + interval '15 seconds' END,
           x.calls_at,
           CASE WHEN x.state = 'keyword' THEN x.in_at + interval '800 milliseconds'
                WHEN x.state = 'provider_error' THEN x.calls_at END,
           x.dstat
    FROM (
        SELECT y.*,
               y.in_at + make_interval(secs => (CASE WHEN y.pattern >= 2 THEN y.e1_lat ELSE 0 END
                                                + CASE WHEN y.pattern = 4 THEN y.e2_lat ELSE y.lat END + 30) / 1000.0) AS calls_at
        FROM (
            SELECT z.*,
                   CASE z.e1_code WHEN 'server' THEN 300 + floor(pg_temp.hf(z.sk, 12) * 4700)::int
                                  WHEN 'rate_limited' THEN 100 + floor(pg_temp.hf(z.sk, 12) * 500)::int
                                  WHEN 'timeout' THEN 15000 + floor(pg_temp.hf(z.sk, 12) * 100)::int
                                  ELSE 0 END AS e1_lat,
                   CASE WHEN z.e2_code IS NOT NULL THEN 15000 + floor(pg_temp.hf(z.sk, 13) * 100)::int END AS e2_lat
            FROM (
                SELECT w.*,
                       -- calls: 0 none, 1 ok, 2 rate_limited then ok on the same target,
                       -- 3 error or cooldown on the agent's target then ok on the fallback,
                       -- 4 both targets fail (the reply fails; the conversation goes to a person)
                       CASE w.state WHEN 'ai' THEN CASE WHEN w.u < 0.010 THEN 3 WHEN w.u < 0.020 THEN 2 ELSE 1 END
                                    WHEN 'provider_error' THEN 4 ELSE 0 END AS pattern,
                       CASE WHEN w.state = 'provider_error' THEN 'server'
                            WHEN w.state <> 'ai' OR w.u >= 0.020 THEN NULL
                            WHEN w.u >= 0.010 THEN 'rate_limited'
                            WHEN pg_temp.hf(w.sk, 19) < 0.2 THEN 'cooldown'
                            WHEN pg_temp.hf(w.sk, 19) < 0.6 THEN 'server'
                            ELSE 'timeout' END AS e1_code,
                       CASE WHEN w.state = 'provider_error' THEN 'timeout' END AS e2_code,
                       200 + floor(pg_temp.hf(w.sk, 14) * 2801)::int AS lat,
                       250 + w.j * 180 + floor(pg_temp.hf(w.sk, 15) * 600)::int AS inp,
                       CASE WHEN w.j > 0 THEN floor((250 + w.j * 180) * 0.6 * pg_temp.hf(w.sk, 16))::int ELSE 0 END AS cached,
                       20 + floor(pg_temp.hf(w.sk, 17) * 380)::int AS outp,
                       CASE WHEN pg_temp.hf(w.sk, 18) < 0.015 THEN 'failed' WHEN pg_temp.hf(w.sk, 18) < 0.10 THEN 'sent'
                            WHEN pg_temp.hf(w.sk, 18) < 0.40 THEN 'delivered' ELSE 'read' END AS dstat
                FROM (
                    SELECT v.tno, v.tenant_id, v.gk, v.gk * 32 + j AS sk, j, v.conv_id, v.channel_id, v.channel_kind, v.contact_id,
                           v.agent_id, v.p_id, v.p_kind, v.p_model, v.f_id, v.f_kind, v.f_model, v.gap,
                           v.created_at + v.gap * j AS in_at,
                           CASE WHEN v.hslot IS NULL OR j < v.hslot THEN 'ai' WHEN j = v.hslot THEN v.hreason ELSE 'human' END AS state,
                           pg_temp.hf(v.gk * 32 + j, 11) AS u
                    FROM seed_conv v CROSS JOIN LATERAL generate_series(0, v.pairs - 1) j
                    WHERE v.chunk = p_chunk
                ) w
            ) z
        ) y
    ) x;
    GET DIAGNOSTICS v_slots = ROW_COUNT;
    ANALYZE seed_slot;
    v_steps := v_steps || ' plan ' || round(extract(epoch FROM clock_timestamp() - v_step)::numeric, 1); v_step := clock_timestamp();

    -- Conversations in their final state (inserted as they end up, so the update trigger
    -- that records events does not fire; the events are written here, at their times).
    WITH agg AS (
        SELECT s.conv_id, max(s.out_at) AS last_at, max(s.handoff_at) AS handoff_at FROM seed_slot s GROUP BY s.conv_id
    ), ins AS (
        INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, chat_kind, status, created_at,
                                   last_message_at, closed_at, mode, handoff_reason, handoff_at)
        SELECT v.tenant_id, v.conv_id, v.channel_id, v.contact_id, v.chat_external_id, 'direct',
               CASE WHEN v.closed THEN 'closed' ELSE 'open' END, v.created_at, a.last_at,
               CASE WHEN v.closed THEN a.last_at + v.close_delay END,
               CASE WHEN v.hslot IS NOT NULL THEN 'human' ELSE 'ai' END, v.hreason, a.handoff_at
        FROM seed_conv v JOIN agg a ON a.conv_id = v.conv_id
        WHERE v.chunk = p_chunk
        ORDER BY v.created_at
        RETURNING tenant_id, id, channel_id, status, closed_at, handoff_reason, handoff_at
    )
    INSERT INTO conversation_events (tenant_id, conversation_id, channel_id, kind, reason, at)
    SELECT e.tenant_id, e.id, e.channel_id, e.kind, e.reason, e.at
    FROM (
        SELECT i.tenant_id, i.id, i.channel_id, 'handoff' AS kind, i.handoff_reason AS reason, i.handoff_at AS at
        FROM ins i WHERE i.handoff_at IS NOT NULL
        UNION ALL
        SELECT i.tenant_id, i.id, i.channel_id, 'closed', NULL, i.closed_at FROM ins i WHERE i.status = 'closed'
    ) e
    ORDER BY e.at;
    SELECT count(DISTINCT conv_id) INTO v_conversations FROM seed_slot;
    v_steps := v_steps || ' conversations ' || round(extract(epoch FROM clock_timestamp() - v_step)::numeric, 1); v_step := clock_timestamp();

    -- Messages in the order they happened (seq, the conversation's ordering key, follows).
    INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, external_id, text, attachments,
                          ai_generated, delivery_status, delivery_error, sent_at, created_at, in_reply_to, agent_id, provider_id,
                          model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms, reply_status,
                          reply_error)
    SELECT s.tenant_id, CASE WHEN d.outbound THEN s.out_id ELSE s.in_id END, s.conv_id, s.channel_id,
           CASE WHEN d.outbound THEN NULL ELSE s.contact_id END,
           CASE WHEN d.outbound THEN 'outbound' ELSE 'inbound' END,
           CASE WHEN NOT d.outbound THEN
                    CASE s.channel_kind WHEN 'whatsapp' THEN 'wamid.' || md5('in' || s.sk) ELSE (s.sk * 2)::text END
                WHEN s.dstat <> 'failed' THEN
                    CASE s.channel_kind WHEN 'whatsapp' THEN 'wamid.' || md5('out' || s.sk) ELSE (s.sk * 2 + 1)::text END
           END,
           CASE WHEN NOT d.outbound THEN substr(p.lorem, 1 + floor(pg_temp.hf(s.sk, 31) * 300)::int, 8 + floor(pg_temp.hf(s.sk, 32) * 140)::int)
                WHEN s.state = 'ai' THEN substr(p.lorem, 1 + floor(pg_temp.hf(s.sk, 33) * 200)::int, 60 + floor(pg_temp.hf(s.sk, 34) * 440)::int)
                ELSE substr(p.lorem, 1 + floor(pg_temp.hf(s.sk, 35) * 300)::int, 15 + floor(pg_temp.hf(s.sk, 36) * 180)::int) END,
           CASE WHEN NOT d.outbound AND pg_temp.hf(s.sk, 37) < 0.03
                THEN '[{"kind": "photo", "reference": "seed-file", "mime_type": "image/jpeg"}]'::jsonb ELSE '[]'::jsonb END,
           d.outbound AND s.state = 'ai',
           CASE WHEN d.outbound THEN s.dstat END,
           CASE WHEN d.outbound AND s.dstat = 'failed' THEN 'the platform refused the message: the user blocked the bot' END,
           CASE WHEN NOT d.outbound THEN s.in_at - interval '1 second'
                WHEN s.dstat <> 'failed' THEN s.out_at + interval '300 milliseconds' END,
           CASE WHEN d.outbound THEN s.out_at ELSE s.in_at END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.in_id END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.agent_id END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN CASE WHEN s.pattern = 3 THEN s.f_id ELSE s.p_id END END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN CASE WHEN s.pattern = 3 THEN s.f_model ELSE s.p_model END END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.inp END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.cached END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.outp END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN 0 END,
           CASE WHEN d.outbound AND s.state = 'ai' THEN s.lat END,
           CASE WHEN NOT d.outbound THEN CASE s.state WHEN 'ai' THEN 'answered' WHEN 'keyword' THEN 'handed_off'
                                                      WHEN 'provider_error' THEN 'failed' ELSE 'skipped' END END,
           CASE WHEN NOT d.outbound THEN CASE s.state WHEN 'provider_error' THEN 'the model provider failed: timeout: no answer in time'
                                                      WHEN 'human' THEN 'a person is answering this conversation' END END
    FROM seed_slot s CROSS JOIN (VALUES (false), (true)) d(outbound), seed_param p
    ORDER BY CASE WHEN d.outbound THEN s.out_at ELSE s.in_at END, s.sk, d.outbound;
    GET DIAGNOSTICS v_messages = ROW_COUNT;
    v_steps := v_steps || ' messages ' || round(extract(epoch FROM clock_timestamp() - v_step)::numeric, 1); v_step := clock_timestamp();

    -- The calls of each reply, recorded when the reply was settled (one transaction: one time).
    INSERT INTO model_calls (tenant_id, id, message_id, agent_id, provider_id, provider_kind, model, attempt, outcome, error_code,
                             error_message, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms, created_at)
    SELECT s.tenant_id, pg_temp.uid('mc', s.sk * 4 + c.attempt), s.in_id, s.agent_id,
           CASE WHEN c.on_fallback THEN s.f_id ELSE s.p_id END,
           CASE WHEN c.on_fallback THEN s.f_kind ELSE s.p_kind END,
           CASE WHEN c.on_fallback THEN s.f_model ELSE s.p_model END,
           c.attempt, CASE WHEN c.code IS NULL THEN 'ok' ELSE 'error' END, c.code,
           CASE c.code WHEN 'server' THEN 'the provider answered 503: overloaded'
                       WHEN 'timeout' THEN 'no answer within the deadline'
                       WHEN 'rate_limited' THEN 'the provider is rate limiting or busy (429)'
                       WHEN 'cooldown' THEN 'the provider is cooling down after failures' END,
           CASE WHEN c.code IS NULL THEN s.inp ELSE 0 END, CASE WHEN c.code IS NULL THEN s.cached ELSE 0 END,
           CASE WHEN c.code IS NULL THEN s.outp ELSE 0 END, 0, c.latency, s.calls_at
    FROM seed_slot s
    CROSS JOIN LATERAL (VALUES
        (1, false, CASE WHEN s.pattern = 1 THEN NULL ELSE s.e1_code END, CASE WHEN s.pattern = 1 THEN s.lat ELSE s.e1_lat END),
        (2, s.pattern IN (3, 4), s.e2_code, CASE WHEN s.pattern = 4 THEN s.e2_lat ELSE s.lat END)
    ) c(attempt, on_fallback, code, latency)
    WHERE s.pattern >= 1 AND (c.attempt = 1 OR s.pattern >= 2)
    ORDER BY s.calls_at, s.sk, c.attempt;
    GET DIAGNOSTICS v_calls = ROW_COUNT;
    v_steps := v_steps || ' calls ' || round(extract(epoch FROM clock_timestamp() - v_step)::numeric, 1); v_step := clock_timestamp();

    -- One capture per AI answer, at the answer's time, with the running balance; the
    -- balance the chunk ends at is carried to the next.
    WITH cost AS (
        SELECT s.*, CASE WHEN s.pattern = 3 THEN s.f_kind ELSE s.p_kind END AS a_kind,
               CASE WHEN s.pattern = 3 THEN s.f_model ELSE s.p_model END AS a_model,
               ceil(((s.inp - s.cached)::numeric * pr.input_micros_per_million + s.cached::numeric * pr.cached_input_micros_per_million
                     + s.outp::numeric * pr.output_micros_per_million) / 1000000)::bigint + pr.message_fee_micros AS micros
        FROM seed_slot s
        JOIN prices pr ON pr.provider_kind = CASE WHEN s.pattern = 3 THEN s.f_kind ELSE s.p_kind END
                      AND pr.model = CASE WHEN s.pattern = 3 THEN s.f_model ELSE s.p_model END
        WHERE s.state = 'ai'
    ), run AS (
        SELECT c.*, b.initial - b.spent - sum(c.micros) OVER (PARTITION BY c.tenant_id ORDER BY c.calls_at, c.sk
                                                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance_after
        FROM cost c JOIN seed_balance b ON b.tenant_id = c.tenant_id
        WHERE c.micros > 0
    ), ins AS (
        INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, held_delta_micros, balance_after_micros, held_after_micros,
                                    reason, hold_id, reference_kind, reference_id, agent_id, channel_id, message_id, provider_kind,
                                    model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, created_at)
        SELECT r.tenant_id, pg_temp.uid('ce', r.sk), 'capture', -r.micros, 0, r.balance_after, 0, 'reply by ' || r.a_model,
               pg_temp.uid('ho', r.sk), 'message', r.in_id::text, r.agent_id, r.channel_id, r.in_id, r.a_kind, r.a_model,
               r.inp, r.cached, r.outp, 0, r.calls_at
        FROM run r
        ORDER BY r.calls_at, r.sk
        RETURNING tenant_id, balance_after_micros
    ), ended AS (
        SELECT i.tenant_id, min(i.balance_after_micros) AS balance_after, count(*) AS n FROM ins i GROUP BY i.tenant_id
    ), carried AS (
        UPDATE seed_balance b SET spent = b.initial - e.balance_after FROM ended e WHERE b.tenant_id = e.tenant_id
    )
    SELECT COALESCE(sum(e.n), 0) INTO v_captures FROM ended e;
    v_steps := v_steps || ' captures ' || round(extract(epoch FROM clock_timestamp() - v_step)::numeric, 1); v_step := clock_timestamp();

    RETURN format('chunk %s: %s conversations, %s messages, %s model calls, %s captures in %s s (%s)', p_chunk, v_conversations,
                  v_messages, v_calls, v_captures, round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 1), trim(v_steps));
END
$fn$;

\echo '== seed: tenants, providers, agents, channels, contacts'
BEGIN;
INSERT INTO tenants (id, name, trial_credits_micros, created_at)
SELECT t.tenant_id, t.name, CASE WHEN t.tno = 0 THEN 0 ELSE 5000000 END, p.t_start - interval '90 days'
FROM seed_tenant t, seed_param p ORDER BY t.tno;

INSERT INTO providers (tenant_id, id, name, kind, region, api_key, created_at, updated_at)
SELECT DISTINCT ON (c.tno, v.pid) c.tenant_id, v.pid, CASE v.pkind WHEN 'openai' THEN 'OpenAI' ELSE 'Anthropic' END, v.pkind, 'us',
       decode(md5('key' || v.pid::text) || md5('key2' || v.pid::text), 'hex'), p.t_start - interval '90 days', p.t_start - interval '90 days'
FROM seed_channel c, seed_param p,
     LATERAL (VALUES (c.p_id, c.p_kind), (c.f_id, c.f_kind)) v(pid, pkind)
ORDER BY c.tno, v.pid;

INSERT INTO agents (tenant_id, id, name, provider_id, model, system_prompt, temperature, max_output_tokens, history_messages,
                    fallbacks, handoff_keywords, created_at, updated_at)
SELECT DISTINCT ON (c.tno, c.agent_id) c.tenant_id, c.agent_id,
       CASE WHEN c.tno = 0 AND c.agent_no = 1 THEN 'Sales assistant' ELSE 'Support assistant' END,
       c.p_id, c.p_model, 'You are a helpful assistant of the shop. Answer briefly and politely.', 0.3, 1024, 20,
       jsonb_build_array(jsonb_build_object('provider_id', c.f_id, 'model', c.f_model)), '{operator,human,person}',
       p.t_start - interval '90 days', p.t_start - interval '90 days'
FROM seed_channel c, seed_param p
ORDER BY c.tno, c.agent_id;

INSERT INTO channels (tenant_id, id, kind, name, agent_id, enabled, credentials, credential_fields, created_at, updated_at)
SELECT c.tenant_id, c.channel_id, c.kind, c.name, c.agent_id, true,
       decode(md5('cred' || c.channel_id::text) || md5('cred2' || c.channel_id::text) || md5('cred3' || c.channel_id::text), 'hex'),
       CASE c.kind WHEN 'telegram' THEN '{bot_token,secret_token}'::text[] WHEN 'whatsapp' THEN '{access_token,app_secret,phone_number_id}'
                   ELSE '{secret}' END,
       p.t_start - interval '89 days', p.t_start - interval '89 days'
FROM seed_channel c, seed_param p
ORDER BY c.tno, c.ch;

-- Contacts as ingest makes them: created with their first message, last seen at their last.
INSERT INTO contacts (tenant_id, id, display_name, phone, email, username, language, created_at, updated_at, last_seen_at)
SELECT g.tenant_id, g.contact_id, 'Contact ' || g.ci,
       CASE WHEN g.channel_kind = 'whatsapp' THEN '+' || g.chat_external_id END,
       CASE WHEN g.channel_kind = 'webhook' AND g.ci % 3 = 0 THEN 'visitor' || g.ci || '@example.com' END,
       CASE WHEN g.channel_kind = 'telegram' AND g.ci % 4 <> 0 THEN 'user' || g.ci END,
       (ARRAY['en', 'ru', 'kk', 'de'])[1 + g.ci % 4],
       g.created_at, g.last_seen_at, g.last_seen_at
FROM (
    SELECT v.tno, v.tenant_id, v.ci, v.contact_id, min(v.channel_kind) AS channel_kind, min(v.chat_external_id) AS chat_external_id,
           min(v.contact_created_at) AS created_at, max(v.created_at + v.gap * (v.pairs - 1)) AS last_seen_at
    FROM seed_conv v GROUP BY v.tno, v.tenant_id, v.ci, v.contact_id
) g
ORDER BY g.created_at;

INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id, created_at)
SELECT c.tenant_id, pg_temp.uid('ci', (v.tno::bigint << 32) + v.ci), c.id, v.channel_kind, v.chat_external_id, c.created_at
FROM (SELECT DISTINCT ON (tno, ci) tno, tenant_id, ci, contact_id, channel_kind, chat_external_id FROM seed_conv ORDER BY tno, ci) v
JOIN contacts c ON c.tenant_id = v.tenant_id AND c.id = v.contact_id
ORDER BY c.created_at;

-- The credits the year is paid from: a top-up (after a trial for the small tenants).
INSERT INTO seed_balance (tenant_id, initial)
SELECT t.tenant_id, CASE WHEN t.tno = 0 THEN 1000000000000 ELSE 5000000 + 100000000 END FROM seed_tenant t;
INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, balance_after_micros, held_after_micros, reason, key, created_at)
SELECT t.tenant_id, pg_temp.uid('ce-initial', t.tno * 2 + e.n), e.kind, e.amount, e.after, 0, e.reason, e.key,
       p.t_start - interval '90 days' + e.n * interval '1 minute'
FROM seed_tenant t, seed_param p,
     LATERAL (SELECT * FROM (VALUES
         (0, 'trial', 5000000::bigint, 5000000::bigint, 'trial credits', 'trial'),
         (1, 'top_up', 100000000, 105000000, 'top-up', 'seed-top-up-' || t.tno)) v(n, kind, amount, after, reason, key)
      WHERE t.tno > 0
      UNION ALL
      SELECT 1, 'top_up', 1000000000000, 1000000000000, 'top-up', 'seed-top-up-0' WHERE t.tno = 0) e
ORDER BY t.tno, e.n;
COMMIT;

\echo '== seed: conversations, messages, model calls, captures, events (chunk by chunk, each its own transaction)'
SELECT CASE WHEN :'fk_checks' = 'off' THEN 'replica' ELSE 'origin' END AS seed_replication_role \gset
SET session_replication_role = :'seed_replication_role';
\pset tuples_only on
SELECT format('SELECT pg_temp.seed_chunk(%s)', c) FROM seed_param, generate_series(0, n_chunks - 1) c \gexec
\pset tuples_only off
RESET session_replication_role;

-- The accounts, at the balance the ledger ends at.
INSERT INTO credit_accounts (tenant_id, balance_micros, held_micros, updated_at)
SELECT b.tenant_id, b.initial - b.spent, 0, p.t_end FROM seed_balance b, seed_param p;

SELECT extract(epoch FROM clock_timestamp()) AS seed_t1 \gset
\echo '== seed: VACUUM ANALYZE (statistics and visibility map, as a live database has them)'
VACUUM ANALYZE;
SELECT extract(epoch FROM clock_timestamp()) AS seed_t2 \gset

-- The rollup runs with the cluster's own settings, as the app's refresh would.
RESET work_mem;
RESET jit;
\echo '== rollup: analytics_refresh_window over the whole year, in steps of' :'refresh_step'
\pset tuples_only on
SELECT format($q$SELECT 'rollup window %s .. %s: ' || analytics_refresh_window(%L, %L) || ' rows'$q$,
              to_char(w, 'YYYY-MM-DD HH24:MI'), to_char(e, 'YYYY-MM-DD HH24:MI'), w, e - interval '1 hour')
FROM seed_param p, generate_series(date_trunc('hour', p.t_end - interval '366 days'), p.t_end - interval '1 hour', :'refresh_step'::interval) w,
     LATERAL (SELECT least(w + :'refresh_step'::interval, date_trunc('hour', p.t_end)) AS e) e \gexec
-- the hour the seed started in (and any after it), which the windows above stop short of
SELECT 'rollup window ' || to_char(date_trunc('hour', t_end), 'YYYY-MM-DD HH24:MI') || ' .. now: '
       || analytics_refresh_window(t_end, now()) || ' rows' FROM seed_param;
\pset tuples_only off
UPDATE analytics_state SET refreshed_at = now();
SELECT extract(epoch FROM clock_timestamp()) AS seed_t3 \gset
VACUUM ANALYZE;
SELECT extract(epoch FROM clock_timestamp()) AS seed_t4 \gset
\timing off

\echo '== summary'
SELECT (SELECT count(*) FROM tenants) AS tenants, (SELECT count(*) FROM contacts) AS contacts,
       (SELECT count(*) FROM conversations) AS conversations, (SELECT count(*) FROM messages) AS messages,
       (SELECT count(*) FROM model_calls) AS model_calls, (SELECT count(*) FROM credit_entries) AS credit_entries,
       (SELECT count(*) FROM conversation_events) AS conversation_events,
       (SELECT count(*) FROM analytics_hourly) AS analytics_hourly, (SELECT count(*) FROM analytics_model_hourly) AS analytics_model_hourly,
       (SELECT count(*) FROM analytics_daily) AS analytics_daily, (SELECT count(*) FROM analytics_monthly) AS analytics_monthly;
SELECT 'seed_timing' AS tag, round(:seed_t1 - :seed_t0, 1) AS load_s, round(:seed_t2 - :seed_t1, 1) AS vacuum_analyze_s,
       round(:seed_t3 - :seed_t2, 1) AS rollup_s, round(:seed_t4 - :seed_t3, 1) AS rollup_vacuum_s, round(:seed_t4 - :seed_t0, 1) AS total_s;
