-- Analytics: the rollups of messages, conversations and model calls into hours, days
-- and months, with their histogram and sketch helpers, and the trigger that records
-- conversation events.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- Upper bounds (milliseconds) of the latency histogram buckets; the last bucket is open.
-- SwitchboardCore's LatencyHistogram.bounds must be the same list (a test compares them).
CREATE OR REPLACE FUNCTION public.analytics_bounds()
 RETURNS integer[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT ARRAY[100, 250, 500, 1000, 2000, 3000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000,
                 1800000, 3600000, 14400000, 86400000]
$function$;

-- Sums histograms bucket by bucket: the reading side's aggregate.
CREATE OR REPLACE FUNCTION public.analytics_hist_add(p_sum bigint[], p_counts integer[])
 RETURNS bigint[]
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
BEGIN
    IF p_counts IS NULL OR cardinality(p_counts) = 0 THEN
        RETURN p_sum;
    END IF;
    IF cardinality(p_sum) = 0 THEN
        RETURN p_counts::bigint[];
    END IF;
    FOR i IN 1 .. cardinality(p_counts) LOOP
        p_sum[i] := COALESCE(p_sum[i], 0) + p_counts[i];
    END LOOP;
    RETURN p_sum;
END
$function$;

-- Counts per bucket: element i (1-based) counts values v with bounds[i-1] <= v < bounds[i].
CREATE OR REPLACE FUNCTION public.analytics_histogram(p_values integer[])
 RETURNS integer[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT array_agg(COALESCE(h.n, 0)::integer ORDER BY g.b)
    FROM generate_series(0, cardinality(analytics_bounds())) AS g(b)
    LEFT JOIN (SELECT width_bucket(v, analytics_bounds()) AS b, count(*) AS n
               FROM unnest(p_values) AS v WHERE v IS NOT NULL GROUP BY 1) h ON h.b = g.b
$function$;

-- The incremental job: recomputes from the last refresh minus the lookback (late changes:
-- reply and delivery failures settle within minutes) up to p_now, once across replicas
-- (a refresh already running elsewhere makes this one return NULL at once). A refresh far
-- behind (the first one after this migration, or after an outage) moves one day per call,
-- so no transaction grows with the history; `caught_up` says whether to call again.
CREATE OR REPLACE FUNCTION public.analytics_refresh(p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_state analytics_state;
    v_from timestamptz;
    v_to timestamptz;
    v_rows bigint;
    v_started timestamptz := clock_timestamp();
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('switchboard.analytics_refresh')) THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('app.analytics', 'on', true);
    SELECT * INTO v_state FROM analytics_state s FOR UPDATE;
    v_from := COALESCE(v_state.refreshed_at - v_state.lookback, (SELECT min(m.created_at) FROM messages m), p_now);
    v_from := LEAST(v_from, p_now);
    v_to := LEAST(p_now, date_trunc('hour', v_from) + interval '1 day');
    v_rows := analytics_refresh_window(v_from, v_to);
    UPDATE analytics_state s SET refreshed_at = v_to,
        last_duration_ms = (extract(epoch FROM clock_timestamp() - v_started) * 1000)::integer;
    RETURN jsonb_build_object('from', date_trunc('hour', v_from), 'to', v_to, 'rows', v_rows, 'caught_up', v_to >= p_now);
END
$function$;
REVOKE ALL ON FUNCTION analytics_refresh(p_now timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics_refresh(p_now timestamp with time zone) TO switchboard_app;

-- Recomputes the rollups of every tenant for the hours from p_from to p_to (whole hours,
-- both ends included): deletes them and writes them again from the rows of those hours.
-- Idempotent, so a refresh that dies is simply run again.
-- Hours are UTC hours whatever the session's zone (a +05:30 session would key them at :30);
-- JIT compiles the correlated subplans for longer than they run.
CREATE OR REPLACE FUNCTION public.analytics_refresh_hours(p_from timestamp with time zone, p_to timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET jit TO 'off'
 SET work_mem TO '64MB'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_from timestamptz := date_trunc('hour', p_from);
    v_to timestamptz := date_trunc('hour', p_to) + interval '1 hour';
    v_rows bigint;
    v_model_rows bigint;
    -- The UTC days the window touches, whose merged sketches are written again.
    v_first_day date := (v_from AT TIME ZONE 'UTC')::date;
    v_last_day date := ((v_to - interval '1 microsecond') AT TIME ZONE 'UTC')::date;
BEGIN
    -- One rebuild at a time: two overlapping ones would each insert the hours the other
    -- deleted. (analytics_refresh holds the same lock already; it is re-entrant.)
    PERFORM pg_advisory_xact_lock(hashtext('switchboard.analytics_refresh'));
    PERFORM set_config('app.analytics', 'on', true);
    DELETE FROM analytics_hourly a WHERE a.hour >= v_from AND a.hour < v_to;
    DELETE FROM analytics_model_hourly a WHERE a.hour >= v_from AND a.hour < v_to;

    INSERT INTO analytics_hourly (tenant_id, hour, channel_id, agent_id, inbound, outbound, ai_answers, human_replies,
        send_failures, reply_failures, new_contacts, conversations_opened, conversations_closed, ai_resolved, handoffs,
        first_responses, first_response_ms_sum, first_response_hist, contact_sketch)
    SELECT x.tenant_id, x.hour, x.channel_id, x.agent_id, sum(x.inbound), sum(x.outbound), sum(x.ai_answers),
           sum(x.human_replies), sum(x.send_failures), sum(x.reply_failures), sum(x.new_contacts), sum(x.opened),
           sum(x.closed), sum(x.ai_resolved), sum(x.handoffs), count(x.frt_ms), COALESCE(sum(x.frt_ms), 0),
           CASE WHEN count(x.frt_ms) > 0 THEN analytics_histogram(array_agg(x.frt_ms) FILTER (WHERE x.frt_ms IS NOT NULL))
                ELSE '{}' END,
           CASE WHEN count(x.active_contact) > 0
                THEN analytics_sketch(array_agg(x.active_contact) FILTER (WHERE x.active_contact IS NOT NULL)) ELSE '{}' END
    FROM (
        -- Messages, in the hour they were stored.
        SELECT m.tenant_id, date_trunc('hour', m.created_at) AS hour, m.channel_id,
               CASE WHEN m.ai_generated THEN m.agent_id ELSE ch.agent_id END AS agent_id,
               (m.direction = 'inbound')::int AS inbound, (m.direction = 'outbound')::int AS outbound,
               m.ai_generated::int AS ai_answers, (m.direction = 'outbound' AND NOT m.ai_generated)::int AS human_replies,
               (m.direction = 'outbound' AND m.delivery_status = 'failed')::int AS send_failures,
               (m.direction = 'inbound' AND m.reply_status = 'failed')::int AS reply_failures,
               0 AS new_contacts, 0 AS opened, 0 AS closed, 0 AS ai_resolved, 0 AS handoffs,
               -- The first answer of a conversation, human or AI: its first response time.
               CASE WHEN m.direction = 'outbound' AND NOT EXISTS (
                        SELECT 1 FROM messages p
                        WHERE p.tenant_id = m.tenant_id AND p.conversation_id = m.conversation_id
                          AND p.direction = 'outbound' AND p.seq < m.seq)
                    THEN (SELECT LEAST(greatest(extract(epoch FROM m.created_at - v.created_at) * 1000, 0), 2147483647)::integer
                          FROM conversations v WHERE v.tenant_id = m.tenant_id AND v.id = m.conversation_id)
               END AS frt_ms,
               CASE WHEN m.direction = 'inbound' THEN m.contact_id END AS active_contact
        FROM messages m
        LEFT JOIN channels ch ON ch.tenant_id = m.tenant_id AND ch.id = m.channel_id
        WHERE m.created_at >= v_from AND m.created_at < v_to
        UNION ALL
        -- Contacts, in the hour they were created, on the channel of their first conversation.
        SELECT c.tenant_id, date_trunc('hour', c.created_at), f.channel_id, ch.agent_id,
               0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, NULL, NULL
        FROM contacts c
        LEFT JOIN LATERAL (SELECT v.channel_id FROM conversations v WHERE v.tenant_id = c.tenant_id AND v.contact_id = c.id
                           ORDER BY v.created_at LIMIT 1) f ON true
        LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = f.channel_id
        WHERE c.created_at >= v_from AND c.created_at < v_to
        UNION ALL
        -- Conversations, in the hour they opened.
        SELECT v.tenant_id, date_trunc('hour', v.created_at), v.channel_id, ch.agent_id,
               0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, NULL, NULL
        FROM conversations v
        LEFT JOIN channels ch ON ch.tenant_id = v.tenant_id AND ch.id = v.channel_id
        WHERE v.created_at >= v_from AND v.created_at < v_to
        UNION ALL
        -- Handoffs and closes, in the hour they happened. A close is resolved by the AI
        -- alone when the conversation has an AI answer and was never handed to a person.
        SELECT e.tenant_id, date_trunc('hour', e.at), e.channel_id, ch.agent_id,
               0, 0, 0, 0, 0, 0, 0, 0, (e.kind = 'closed')::int,
               (e.kind = 'closed'
                AND NOT EXISTS (SELECT 1 FROM conversation_events h
                                WHERE h.tenant_id = e.tenant_id AND h.conversation_id = e.conversation_id AND h.kind = 'handoff'
                                  AND h.at <= e.at)
                AND EXISTS (SELECT 1 FROM messages a
                            WHERE a.tenant_id = e.tenant_id AND a.conversation_id = e.conversation_id AND a.ai_generated
                              AND a.created_at <= e.at))::int,
               (e.kind = 'handoff')::int, NULL, NULL
        FROM conversation_events e
        LEFT JOIN channels ch ON ch.tenant_id = e.tenant_id AND ch.id = e.channel_id
        WHERE e.kind IN ('closed', 'handoff') AND e.at >= v_from AND e.at < v_to
    ) x
    GROUP BY x.tenant_id, x.hour, x.channel_id, x.agent_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;

    INSERT INTO analytics_model_hourly (tenant_id, hour, channel_id, agent_id, provider_kind, model, calls, errors, answers,
        fallbacks, latency_ms_sum, latency_hist, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, credits_micros)
    SELECT x.tenant_id, x.hour, x.channel_id, x.agent_id, x.provider_kind, x.model, sum(x.calls), sum(x.errors), sum(x.answers),
           sum(x.fallbacks), COALESCE(sum(x.latency), 0),
           CASE WHEN count(x.latency) > 0 THEN analytics_histogram(array_agg(x.latency) FILTER (WHERE x.latency IS NOT NULL))
                ELSE '{}' END,
           sum(x.input), sum(x.cached), sum(x.output), sum(x.reasoning), sum(x.credits)
    FROM (
        -- Every call made (a target skipped while cooling down is no call). Latency of the
        -- calls that answered.
        SELECT c.tenant_id, date_trunc('hour', c.created_at) AS hour, m.channel_id, c.agent_id,
               COALESCE(c.provider_kind, '') AS provider_kind, c.model,
               1 AS calls, (c.outcome = 'error')::int AS errors, (c.outcome = 'ok')::int AS answers, 0 AS fallbacks,
               CASE WHEN c.outcome = 'ok' THEN c.latency_ms END AS latency,
               c.input_tokens::bigint AS input, c.cached_input_tokens::bigint AS cached, c.output_tokens::bigint AS output,
               c.reasoning_tokens::bigint AS reasoning, 0::bigint AS credits
        FROM model_calls c
        LEFT JOIN messages m ON m.tenant_id = c.tenant_id AND m.id = c.message_id
        WHERE c.created_at >= v_from AND c.created_at < v_to AND c.error_code IS DISTINCT FROM 'cooldown'
        UNION ALL
        -- Answers written by another target than the agent's own provider and model.
        SELECT a.tenant_id, date_trunc('hour', a.created_at), a.channel_id, a.agent_id, COALESCE(p.kind, ''), COALESCE(a.model, ''),
               0, 0, 0, 1, NULL, 0, 0, 0, 0, 0
        FROM messages a
        JOIN agents g ON g.tenant_id = a.tenant_id AND g.id = a.agent_id
        LEFT JOIN providers p ON p.tenant_id = a.tenant_id AND p.id = a.provider_id
        WHERE a.ai_generated AND a.created_at >= v_from AND a.created_at < v_to
          AND (a.provider_id, a.model) IS DISTINCT FROM (g.provider_id, g.model)
        UNION ALL
        -- Credits captured for model calls and message fees.
        SELECT e.tenant_id, date_trunc('hour', e.created_at), e.channel_id, e.agent_id, COALESCE(e.provider_kind, ''),
               COALESCE(e.model, ''), 0, 0, 0, 0, NULL, 0, 0, 0, 0, -e.amount_micros
        FROM credit_entries e
        WHERE e.kind = 'capture' AND e.created_at >= v_from AND e.created_at < v_to
    ) x
    GROUP BY x.tenant_id, x.hour, x.channel_id, x.agent_id, x.provider_kind, x.model;
    GET DIAGNOSTICS v_model_rows = ROW_COUNT;

    DELETE FROM analytics_daily d WHERE d.day BETWEEN v_first_day AND v_last_day;
    INSERT INTO analytics_daily (tenant_id, day, channel_id, agent_id, inbound, outbound, ai_answers, human_replies,
        send_failures, reply_failures, new_contacts, conversations_opened, conversations_closed, ai_resolved, handoffs,
        first_responses, first_response_ms_sum, first_response_hist, contact_sketch)
    SELECT a.tenant_id, a.day, a.channel_id, a.agent_id, a.inbound, a.outbound, a.ai_answers, a.human_replies, a.send_failures,
           a.reply_failures, a.new_contacts, a.conversations_opened, a.conversations_closed, a.ai_resolved, a.handoffs,
           a.first_responses, a.first_response_ms_sum, a.first_response_hist, COALESCE(k.sketch, ''::bytea)
    FROM (SELECT h.tenant_id, (h.hour AT TIME ZONE 'UTC')::date AS day, h.channel_id, h.agent_id, sum(h.inbound) AS inbound,
                 sum(h.outbound) AS outbound, sum(h.ai_answers) AS ai_answers, sum(h.human_replies) AS human_replies,
                 sum(h.send_failures) AS send_failures, sum(h.reply_failures) AS reply_failures, sum(h.new_contacts) AS new_contacts,
                 sum(h.conversations_opened) AS conversations_opened, sum(h.conversations_closed) AS conversations_closed,
                 sum(h.ai_resolved) AS ai_resolved, sum(h.handoffs) AS handoffs, sum(h.first_responses) AS first_responses,
                 sum(h.first_response_ms_sum) AS first_response_ms_sum,
                 analytics_hist_sum(h.first_response_hist)::integer[] AS first_response_hist
          FROM analytics_hourly h
          WHERE h.hour >= (v_first_day::timestamp AT TIME ZONE 'UTC') AND h.hour < ((v_last_day + 1)::timestamp AT TIME ZONE 'UTC')
          GROUP BY 1, 2, 3, 4) a
    LEFT JOIN (SELECT s.tenant_id, s.day, s.channel_id, s.agent_id,
                      string_agg(int4send((s.register << 6) | s.rank), ''::bytea ORDER BY s.register) AS sketch
               FROM (SELECT h.tenant_id, (h.hour AT TIME ZONE 'UTC')::date AS day, h.channel_id, h.agent_id, e >> 6 AS register,
                            max(e & 63) AS rank
                     FROM analytics_hourly h, unnest(h.contact_sketch) AS e
                     WHERE h.hour >= (v_first_day::timestamp AT TIME ZONE 'UTC')
                       AND h.hour < ((v_last_day + 1)::timestamp AT TIME ZONE 'UTC')
                     GROUP BY 1, 2, 3, 4, 5) s
               GROUP BY 1, 2, 3, 4) k
        ON k.tenant_id = a.tenant_id AND k.day = a.day AND k.channel_id IS NOT DISTINCT FROM a.channel_id
       AND k.agent_id IS NOT DISTINCT FROM a.agent_id;

    DELETE FROM analytics_model_daily d WHERE d.day BETWEEN v_first_day AND v_last_day;
    INSERT INTO analytics_model_daily (tenant_id, day, channel_id, agent_id, provider_kind, model, calls, errors, answers, fallbacks,
        latency_ms_sum, latency_hist, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, credits_micros)
    SELECT h.tenant_id, (h.hour AT TIME ZONE 'UTC')::date, h.channel_id, h.agent_id, h.provider_kind, h.model, sum(h.calls),
           sum(h.errors), sum(h.answers), sum(h.fallbacks), sum(h.latency_ms_sum), analytics_hist_sum(h.latency_hist)::integer[],
           sum(h.input_tokens), sum(h.cached_input_tokens), sum(h.output_tokens), sum(h.reasoning_tokens), sum(h.credits_micros)
    FROM analytics_model_hourly h
    WHERE h.hour >= (v_first_day::timestamp AT TIME ZONE 'UTC') AND h.hour < ((v_last_day + 1)::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN v_rows + v_model_rows;
END
$function$;
REVOKE ALL ON FUNCTION analytics_refresh_hours(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;

-- Recomputes the UTC months p_first_month <= month < p_end_month (first days of months),
-- for every tenant, from their daily and hourly rows, and lists them in analytics_months.
-- Called by analytics_refresh_window, under its lock, for months that have ended.
CREATE OR REPLACE FUNCTION public.analytics_refresh_months(p_first_month date, p_end_month date)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET jit TO 'off'
 SET work_mem TO '64MB'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_first date := date_trunc('month', p_first_month::timestamp)::date;
    v_end date := date_trunc('month', p_end_month::timestamp)::date;
    v_rows bigint;
    v_model_rows bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('switchboard.analytics_refresh'));
    PERFORM set_config('app.analytics', 'on', true);
    DELETE FROM analytics_monthly m WHERE m.month >= v_first AND m.month < v_end;
    INSERT INTO analytics_monthly (tenant_id, month, channel_id, agent_id, inbound, outbound, ai_answers, human_replies,
        send_failures, reply_failures, new_contacts, conversations_opened, conversations_closed, ai_resolved, handoffs,
        first_responses, first_response_ms_sum, first_response_hist, contact_sketch)
    SELECT a.tenant_id, a.month, a.channel_id, a.agent_id, a.inbound, a.outbound, a.ai_answers, a.human_replies, a.send_failures,
           a.reply_failures, a.new_contacts, a.conversations_opened, a.conversations_closed, a.ai_resolved, a.handoffs,
           a.first_responses, a.first_response_ms_sum, a.first_response_hist, COALESCE(k.sketch, ''::bytea)
    FROM (SELECT d.tenant_id, date_trunc('month', d.day)::date AS month, d.channel_id, d.agent_id, sum(d.inbound) AS inbound,
                 sum(d.outbound) AS outbound, sum(d.ai_answers) AS ai_answers, sum(d.human_replies) AS human_replies,
                 sum(d.send_failures) AS send_failures, sum(d.reply_failures) AS reply_failures, sum(d.new_contacts) AS new_contacts,
                 sum(d.conversations_opened) AS conversations_opened, sum(d.conversations_closed) AS conversations_closed,
                 sum(d.ai_resolved) AS ai_resolved, sum(d.handoffs) AS handoffs, sum(d.first_responses) AS first_responses,
                 sum(d.first_response_ms_sum) AS first_response_ms_sum,
                 analytics_hist_sum(d.first_response_hist)::integer[] AS first_response_hist
          FROM analytics_daily d
          WHERE d.day >= v_first AND d.day < v_end
          GROUP BY 1, 2, 3, 4) a
    LEFT JOIN (SELECT s.tenant_id, s.month, s.channel_id, s.agent_id,
                      string_agg(int4send((s.register << 6) | s.rank), ''::bytea ORDER BY s.register) AS sketch
               FROM (SELECT h.tenant_id, date_trunc('month', h.hour)::date AS month, h.channel_id, h.agent_id, e >> 6 AS register,
                            max(e & 63) AS rank
                     FROM analytics_hourly h, unnest(h.contact_sketch) AS e
                     WHERE h.hour >= (v_first::timestamp AT TIME ZONE 'UTC') AND h.hour < (v_end::timestamp AT TIME ZONE 'UTC')
                     GROUP BY 1, 2, 3, 4, 5) s
               GROUP BY 1, 2, 3, 4) k
        ON k.tenant_id = a.tenant_id AND k.month = a.month AND k.channel_id IS NOT DISTINCT FROM a.channel_id
       AND k.agent_id IS NOT DISTINCT FROM a.agent_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;

    DELETE FROM analytics_model_monthly m WHERE m.month >= v_first AND m.month < v_end;
    INSERT INTO analytics_model_monthly (tenant_id, month, channel_id, agent_id, provider_kind, model, calls, errors, answers,
        fallbacks, latency_ms_sum, latency_hist, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, credits_micros)
    SELECT d.tenant_id, date_trunc('month', d.day)::date, d.channel_id, d.agent_id, d.provider_kind, d.model, sum(d.calls),
           sum(d.errors), sum(d.answers), sum(d.fallbacks), sum(d.latency_ms_sum), analytics_hist_sum(d.latency_hist)::integer[],
           sum(d.input_tokens), sum(d.cached_input_tokens), sum(d.output_tokens), sum(d.reasoning_tokens), sum(d.credits_micros)
    FROM analytics_model_daily d
    WHERE d.day >= v_first AND d.day < v_end
    GROUP BY 1, 2, 3, 4, 5, 6;
    GET DIAGNOSTICS v_model_rows = ROW_COUNT;
    INSERT INTO analytics_months (month)
    SELECT m::date FROM generate_series(v_first::timestamp, v_end::timestamp - interval '1 month', interval '1 month') AS m
    ON CONFLICT (month) DO UPDATE SET rolled_up_at = now();
    RETURN v_rows + v_model_rows;
END
$function$;
REVOKE ALL ON FUNCTION analytics_refresh_months(p_first_month date, p_end_month date) FROM PUBLIC;

-- The refresh of a window of hours (what the refresh job and the benchmark's seed call):
-- analytics_refresh_hours for its hours, then analytics_refresh_months for the months of
-- those hours that have ended.
CREATE OR REPLACE FUNCTION public.analytics_refresh_window(p_from timestamp with time zone, p_to timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_rows bigint := analytics_refresh_hours(p_from, p_to);
    v_first date := date_trunc('month', p_from)::date;
    v_end date := LEAST(date_trunc('month', now()), date_trunc('month', date_trunc('hour', p_to)) + interval '1 month')::date;
BEGIN
    IF v_first < v_end THEN
        v_rows := v_rows + analytics_refresh_months(v_first, v_end);
    END IF;
    RETURN v_rows;
END
$function$;
REVOKE ALL ON FUNCTION analytics_refresh_window(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics_refresh_window(p_from timestamp with time zone, p_to timestamp with time zone) TO switchboard_app;

-- A HyperLogLog sketch of a set of ids (2,048 registers), sparse: one integer per
-- register that is set, (register << 6) | rank. Sketches merge by taking the highest rank
-- per register, so distinct counts add up over hours without keeping the ids.
CREATE OR REPLACE FUNCTION public.analytics_sketch(p_ids uuid[])
 RETURNS integer[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT COALESCE(array_agg((r.idx << 6) | r.rank ORDER BY r.idx), '{}')
    FROM (SELECT y.idx, max(y.rank) AS rank
          FROM (SELECT (x.h & 2047)::integer AS idx,
                       COALESCE(NULLIF(position('1' IN substring(x.h::bit(64)::text FROM 1 FOR 53)), 0), 54) AS rank
                FROM (SELECT hashtextextended(id::text, 0) AS h FROM unnest(p_ids) AS id WHERE id IS NOT NULL) x) y
          GROUP BY y.idx) r
$function$;

-- The trigger that records a conversation's closing, reopening, hand-off and resumption as
-- events for the figures. It writes as the app (the tenant's scope applies); the app reads
-- the rollups and only the refresh writes them.
CREATE OR REPLACE FUNCTION public.conversation_events_record()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF NEW.mode IS DISTINCT FROM OLD.mode THEN
        INSERT INTO conversation_events (tenant_id, conversation_id, channel_id, kind, reason)
        VALUES (NEW.tenant_id, NEW.id, NEW.channel_id, CASE WHEN NEW.mode = 'human' THEN 'handoff' ELSE 'resumed' END,
                CASE WHEN NEW.mode = 'human' THEN NEW.handoff_reason END);
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO conversation_events (tenant_id, conversation_id, channel_id, kind)
        VALUES (NEW.tenant_id, NEW.id, NEW.channel_id, CASE WHEN NEW.status = 'closed' THEN 'closed' ELSE 'reopened' END);
    END IF;
    RETURN NULL;
END
$function$;
