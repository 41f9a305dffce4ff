-- The fair claim (migration 0012) locked its chosen jobs through a join of the candidates
-- with `jobs` that the planner could not size: it estimated the candidates by the hundred
-- and read every queued job into a hash (a bitmap scan of `jobs_ready`), so one claim with
-- a backlog of 12,000 jobs read 1,200 pages and took 4.7 ms, four times the claim before
-- it. Under a steady backlog (the ingest benchmark) that work came out of the ingest.
--
-- Now the candidates are only ordered in one statement (each tenant's few oldest through
-- `jobs_ready_by_tenant`), and each is then locked and taken by its key, in that order, until
-- `p_limit` are taken: a lookup of the primary key per job, whatever the backlog. A job
-- another claim holds (SKIP LOCKED) or already took (the status re-checked under the lock) is
-- passed over for the next candidate, as before. The answer and the signature are the same.
--
-- The queue's old index by time alone goes: `jobs_ready` (run_after) served the FIFO claim,
-- and the planner still preferred it for "this tenant's oldest ready jobs", walking the
-- whole queue in time order and filtering by tenant — with one tenant's backlog of 20,000
-- ahead of another's one job, 40,000 pages for that one job. Every reader of the ready
-- queue now asks by tenant, along `jobs_ready_by_tenant` (0012), the only index left on
-- queued jobs: a claim costs a few pages per waiting tenant, whatever the backlog.
DROP INDEX jobs_ready;

-- Its statements keep generic plans (`plan_cache_mode`): PL/pgSQL otherwise planned the
-- candidates' statement afresh at every claim, for its parameters (0.42 ms of planning,
-- index probes included, against 0.09 ms of running it); the generic plan walks the same
-- indexes, which are chosen by their order, not by how many rows `p_now` admits.
CREATE OR REPLACE FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamptz, p_lease interval, p_worker text,
                                      p_max_attempts integer)
RETURNS TABLE (tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer, dead boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
    v_taken integer := 0;
    d record;
    c record;
BEGIN
    PERFORM set_config('app.worker', 'on', true);

    -- Leases that ran out on the last attempt allowed: the worker died, or ran past the
    -- job's deadline, every time. The job is dead and its message shows it.
    FOR d IN
        UPDATE jobs j SET status = 'dead', locked_until = NULL, locked_by = NULL, updated_at = p_now,
            last_error = format('gave up after %s attempts: none finished (the worker stopped or ran past the deadline)',
                                j.attempts)
        FROM (
            SELECT q.tenant_id, q.id FROM jobs q
            WHERE q.status = 'running' AND q.locked_until < p_now AND q.attempts >= p_max_attempts AND q.kind = ANY (p_kinds)
            ORDER BY q.locked_until
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, j.last_error
    LOOP
        PERFORM set_config('app.tenant_id', d.tenant_id::text, true);
        IF d.kind = 'reply' THEN
            UPDATE messages m SET reply_status = 'failed', reply_error = d.last_error
            WHERE m.tenant_id = d.tenant_id AND m.id = d.message_id AND m.reply_status IS NULL;
        ELSE
            UPDATE messages m SET delivery_status = 'failed', delivery_error = d.last_error
            WHERE m.tenant_id = d.tenant_id AND m.id = d.message_id AND COALESCE(m.delivery_status, 'pending') = 'pending';
        END IF;
        tenant_id := d.tenant_id;
        id := d.id;
        kind := d.kind;
        message_id := d.message_id;
        attempts := d.attempts;
        dead := true;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);

    -- Queued jobs whose time has come, fewest-running-tenant first: the order first...
    FOR c IN
        WITH RECURSIVE waiting (tenant_id) AS (
            -- The tenants with a ready job: one index probe each (jobs_ready_by_tenant).
            (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now ORDER BY q.tenant_id LIMIT 1)
            UNION ALL
            SELECT (SELECT q.tenant_id FROM jobs q
                    WHERE q.status = 'queued' AND q.run_after <= p_now AND q.tenant_id > w.tenant_id
                    ORDER BY q.tenant_id LIMIT 1)
            FROM waiting w WHERE w.tenant_id IS NOT NULL
        ),
        busy AS (
            -- Jobs running now, by tenant (jobs_leased; as many as there are workers at most).
            SELECT r.tenant_id, count(*)::integer AS running FROM jobs r
            WHERE r.status = 'running' AND r.locked_until >= p_now GROUP BY r.tenant_id
        )
        SELECT x.tenant_id, x.id
        FROM (
            SELECT q.tenant_id, q.id, q.run_after,
                   COALESCE(b.running, 0) + row_number() OVER (PARTITION BY q.tenant_id ORDER BY q.run_after, q.id) AS turn
            FROM waiting w
            CROSS JOIN LATERAL (
                -- Each tenant's oldest ready jobs, along jobs_ready_by_tenant.
                SELECT q.tenant_id, q.id, q.run_after FROM jobs q
                WHERE q.tenant_id = w.tenant_id AND q.status = 'queued' AND q.run_after <= p_now AND q.kind = ANY (p_kinds)
                ORDER BY q.run_after
                LIMIT p_limit) q
            LEFT JOIN busy b ON b.tenant_id = w.tenant_id
            WHERE w.tenant_id IS NOT NULL
        ) x
        ORDER BY x.turn, x.run_after
    LOOP
        -- ...then each taken by its key, unless another claim holds it or has taken it.
        UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_until = p_now + p_lease,
            locked_by = p_worker, updated_at = p_now
        FROM (SELECT q.tenant_id, q.id FROM jobs q
              WHERE q.tenant_id = c.tenant_id AND q.id = c.id AND q.status = 'queued'
              FOR UPDATE SKIP LOCKED) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts INTO tenant_id, id, kind, message_id, attempts;
        IF FOUND THEN
            dead := false;
            RETURN NEXT;
            v_taken := v_taken + 1;
            EXIT WHEN v_taken >= p_limit;
        END IF;
    END LOOP;

    -- Leases that ran out with attempts left: taken again, as the next attempt.
    IF v_taken < p_limit THEN
        RETURN QUERY
        UPDATE jobs j SET attempts = j.attempts + 1, locked_until = p_now + p_lease, locked_by = p_worker, updated_at = p_now
        FROM (
            SELECT q.tenant_id, q.id FROM jobs q
            WHERE q.status = 'running' AND q.locked_until < p_now AND q.attempts < p_max_attempts AND q.kind = ANY (p_kinds)
            ORDER BY q.locked_until
            LIMIT p_limit - v_taken
            FOR UPDATE SKIP LOCKED
        ) x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, false;
    END IF;
    PERFORM set_config('app.worker', '', true);
END
$fn$;
