-- The hourly rollup tables' time indexes become BRIN indexes.
--
-- The refresh is their only reader: it deletes and rewrites the last hours (and their days)
-- of every tenant, which the refresh itself writes in time order, so block ranges stay
-- narrow. As btree indexes they misled the planner on tenants' reads: rows are stored in
-- hour order, so a walk of the period through `hour` alone looked cheap next to the key
-- (tenant_id, hour, ...), and a tenant's 90 days of hours read every tenant's rows of
-- those 90 days (on the benchmark's seeded year: 25-45 ms instead of 10-14 ms by the key).
-- The planner costs a BRIN scan above the key for one tenant's rows; and it is a few pages.
DROP INDEX analytics_hourly_time;
CREATE INDEX analytics_hourly_time ON analytics_hourly USING brin (hour) WITH (autosummarize = on);
DROP INDEX analytics_model_hourly_time;
CREATE INDEX analytics_model_hourly_time ON analytics_model_hourly USING brin (hour) WITH (autosummarize = on);
-- The daily tables keep their btree indexes: a tenant's days are few rows, read by the key,
-- and the refresh's rewrite of the current day moves that day's rows to the end of the table,
-- where a BRIN range would span the year (the planner then deleted the day by a full scan).

-- Monthly rollups: the whole UTC months of a period, merged from the days (sums and
-- histograms) and from the hours (sketches, which the daily table keeps as bytes). A year's
-- summary reads a dozen months, a few edge days and hours, instead of 365 days of rows.
-- A month is rolled up once it has ended, by every refresh window that touches it (the
-- first ones of the next month, while the lookback reaches back; a catch-up or a rebuild of
-- old hours): recomputing the open month every minute cost 300 ms of every refresh on the
-- benchmark's year. Readers take a month from `analytics_monthly` only when
-- `analytics_months` lists it, and read its days otherwise.
CREATE TABLE analytics_months (
    month date PRIMARY KEY,
    rolled_up_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE analytics_monthly (LIKE analytics_daily INCLUDING DEFAULTS INCLUDING STORAGE);
ALTER TABLE analytics_monthly RENAME COLUMN day TO month;
ALTER TABLE analytics_monthly ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX analytics_monthly_key ON analytics_monthly (tenant_id, month, channel_id, agent_id) NULLS NOT DISTINCT;
CREATE INDEX analytics_monthly_time ON analytics_monthly (month);

CREATE TABLE analytics_model_monthly (LIKE analytics_model_daily INCLUDING DEFAULTS INCLUDING STORAGE);
ALTER TABLE analytics_model_monthly RENAME COLUMN day TO month;
ALTER TABLE analytics_model_monthly ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX analytics_model_monthly_key
    ON analytics_model_monthly (tenant_id, month, channel_id, agent_id, provider_kind, model) NULLS NOT DISTINCT;
CREATE INDEX analytics_model_monthly_time ON analytics_model_monthly (month);

-- Recomputes the UTC months p_first_month <= month < p_end_month (first days of months),
-- for every tenant, from their daily and hourly rows, and lists them in analytics_months.
-- Called by analytics_refresh_window, under its lock, for months that have ended.
CREATE FUNCTION analytics_refresh_months(p_first_month date, p_end_month date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC' SET jit = off SET work_mem = '64MB'
AS $fn$
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
$fn$;

-- analytics_refresh_window (its name is what the refresh job and the benchmark's seed call)
-- now also rebuilds the months of its hours that have ended.
ALTER FUNCTION analytics_refresh_window(timestamptz, timestamptz) RENAME TO analytics_refresh_hours;
CREATE FUNCTION analytics_refresh_window(p_from timestamptz, p_to timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC'
AS $fn$
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
$fn$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['analytics_monthly', 'analytics_model_monthly']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
        EXECUTE format($p$CREATE POLICY analytics_refresh ON %I
            USING (current_setting('app.analytics', true) = 'on')
            WITH CHECK (current_setting('app.analytics', true) = 'on')$p$, t);
    END LOOP;
END $$;

GRANT SELECT ON analytics_monthly, analytics_model_monthly, analytics_months TO switchboard_app;
REVOKE ALL ON FUNCTION analytics_refresh_hours(timestamptz, timestamptz), analytics_refresh_months(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION analytics_refresh_hours(timestamptz, timestamptz) FROM switchboard_app;
REVOKE ALL ON FUNCTION analytics_refresh_window(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics_refresh_window(timestamptz, timestamptz) TO switchboard_app;

-- The ended months of the days already rolled up (the daily table is read under the
-- refresh's policy, as the function will write).
SELECT set_config('app.analytics', 'on', true);
SELECT analytics_refresh_months(min(d.day), LEAST(date_trunc('month', now()), date_trunc('month', max(d.day)) + interval '1 month')::date)
FROM analytics_daily d HAVING count(*) > 0;
SELECT set_config('app.analytics', '', true);
