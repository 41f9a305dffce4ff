-- Jobs end, and no tenant takes every worker.
--
-- Until now a job whose worker died (or hung) was taken again when its lease ran out, with
-- no limit: a job that kills its process every time went round the replicas for ever. And
-- the claim was one FIFO for all tenants: a tenant with a backlog of slow jobs held every
-- worker while the other tenants' messages waited behind it.
--
-- 1. A job has at most `p_max_attempts` attempts, reclaims included (a reclaim has always
--    counted one: `attempts` is the fencing token). A lease that runs out on the last
--    attempt makes the job `dead`, and its message says so: a reply's `reply_status`
--    becomes `failed`, a send's `delivery_status` becomes `failed`, each with the reason.
-- 2. The claim is fair: ready jobs are taken fewest-running-tenant first. Each candidate's
--    turn is its tenant's running jobs plus its place in the tenant's own queue, so one
--    claim interleaves tenants and a tenant already running jobs waits behind one that
--    runs none. It stays one statement.
-- 3. The ingest of a process with free workers takes its new messages' reply jobs only
--    while no other tenant's job is ready: otherwise it leaves them to the fair claim.

ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_status_check;

-- The ready queue by tenant: which tenants have ready jobs (a skip scan, one probe per
-- tenant, however long one tenant's backlog) and each one's oldest.
CREATE INDEX jobs_ready_by_tenant ON jobs (tenant_id, run_after) WHERE status = 'queued';

-- Takes up to p_limit ready jobs of the given kinds for one worker, fairly across tenants,
-- and buries the jobs out of attempts. Answers the taken jobs (`dead` false) and the jobs
-- it found dead (`dead` true, not taken: for the caller's metrics and logs).
CREATE FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamptz, p_lease interval, p_worker text,
                           p_max_attempts integer)
RETURNS TABLE (tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer, dead boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_taken integer;
    d record;
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
        ) c
        WHERE j.tenant_id = c.tenant_id AND j.id = c.id
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

    -- Queued jobs whose time has come, fewest-running-tenant first.
    RETURN QUERY
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
    ),
    candidates AS (
        SELECT c.tenant_id, c.id, c.run_after,
               COALESCE(b.running, 0) + row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.run_after, c.id) AS turn
        FROM waiting w
        CROSS JOIN LATERAL (
            SELECT q.tenant_id, q.id, q.run_after FROM jobs q
            WHERE q.tenant_id = w.tenant_id AND q.status = 'queued' AND q.run_after <= p_now AND q.kind = ANY (p_kinds)
            ORDER BY q.run_after
            LIMIT p_limit) c
        LEFT JOIN busy b ON b.tenant_id = w.tenant_id
        WHERE w.tenant_id IS NOT NULL
    )
    UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_until = p_now + p_lease,
        locked_by = p_worker, updated_at = p_now
    FROM (
        SELECT q.tenant_id, q.id FROM candidates c JOIN jobs q ON q.tenant_id = c.tenant_id AND q.id = c.id
        WHERE q.status = 'queued'
        ORDER BY c.turn, c.run_after
        LIMIT p_limit
        FOR UPDATE OF q SKIP LOCKED
    ) x
    WHERE j.tenant_id = x.tenant_id AND j.id = x.id
    RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, false;
    GET DIAGNOSTICS v_taken = ROW_COUNT;

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
        ) c
        WHERE j.tenant_id = c.tenant_id AND j.id = c.id
        RETURNING j.tenant_id, j.id, j.kind, j.message_id, j.attempts, false;
    END IF;
    PERFORM set_config('app.worker', '', true);
END
$fn$;

GRANT EXECUTE ON FUNCTION claim_jobs(text[], integer, timestamptz, interval, text, integer) TO switchboard_app;

-- The claim of the previous build, kept for replicas still running it during a rolling
-- upgrade: the fair claim with five attempts, answering the taken jobs only.
CREATE OR REPLACE FUNCTION claim_jobs(p_kinds text[], p_limit integer, p_now timestamptz, p_lease interval, p_worker text)
RETURNS TABLE (tenant_id uuid, id uuid, kind text, message_id uuid, attempts integer)
LANGUAGE plpgsql AS $fn$
BEGIN
    RETURN QUERY
    SELECT c.tenant_id, c.id, c.kind, c.message_id, c.attempts
    FROM claim_jobs(p_kinds, p_limit, p_now, p_lease, p_worker, 5) c WHERE NOT c.dead;
END
$fn$;

-- `ingest_deliveries` (migration 0010) with one rule more: a new message's reply job is
-- taken at ingest only while no other tenant has a ready job waiting — then the free
-- worker goes to the fair claim instead, and the job is notified like any other.
CREATE OR REPLACE FUNCTION ingest_deliveries(p_batch jsonb, p_take integer, p_now timestamptz, p_lease interval, p_worker text)
RETURNS TABLE (delivery integer, event_id text, created boolean, message_id uuid, job_id uuid, job_attempts integer,
               document text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    d jsonb;
    r record;
    i integer := 0;
    j integer;
    v_tenant uuid;
    v_taken integer := 0;
    v_left boolean := false;
    v_checked uuid;
    v_others boolean := false;
BEGIN
    PERFORM set_config('app.jobs_taken_here', 'on', true);
    FOR d IN SELECT * FROM jsonb_array_elements(p_batch) LOOP
        v_tenant := (d->>'tenant')::uuid;
        j := 0;
        FOR r IN SELECT * FROM ingest_delivery(v_tenant, (d->>'channel')::uuid, d->>'kind', d->>'payload', d->'events')
        LOOP
            delivery := i;
            event_id := r.event_id;
            created := r.created;
            message_id := r.message_id;
            job_id := NULL;
            job_attempts := NULL;
            document := NULL;
            -- ingest_delivery answers a row per event, in order; a new message's row is the
            -- one whose event enqueued a reply job.
            IF r.created AND r.message_id IS NOT NULL AND d->'events'->j->>'kind' = 'message' THEN
                IF v_taken < p_take AND v_checked IS DISTINCT FROM v_tenant THEN
                    -- Two probes of jobs_ready_by_tenant, once per tenant of the batch: the
                    -- nearest tenant below and above with a ready job (ordered by tenant, so
                    -- the plan walks that index, not a long backlog along jobs_ready).
                    PERFORM set_config('app.worker', 'on', true);
                    v_others := (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now
                                 AND q.tenant_id < v_tenant ORDER BY q.tenant_id DESC LIMIT 1) IS NOT NULL
                             OR (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.run_after <= p_now
                                 AND q.tenant_id > v_tenant ORDER BY q.tenant_id LIMIT 1) IS NOT NULL;
                    PERFORM set_config('app.worker', '', true);
                    v_checked := v_tenant;
                END IF;
                IF v_taken < p_take AND NOT v_others THEN
                    UPDATE jobs jb SET status = 'running', attempts = jb.attempts + 1, locked_until = p_now + p_lease,
                        locked_by = p_worker, updated_at = p_now
                    WHERE jb.tenant_id = v_tenant AND jb.kind = 'reply' AND jb.message_id = r.message_id
                      AND jb.status = 'queued'
                    RETURNING jb.id, jb.attempts INTO job_id, job_attempts;
                END IF;
                IF job_id IS NULL THEN
                    v_left := true;
                ELSE
                    v_taken := v_taken + 1;
                    document := reply_context(v_tenant, r.message_id)::text;
                END IF;
            END IF;
            RETURN NEXT;
            j := j + 1;
        END LOOP;
        i := i + 1;
    END LOOP;
    PERFORM set_config('app.jobs_taken_here', '', true);
    IF v_left THEN
        PERFORM pg_notify('switchboard_jobs', '');
    END IF;
END
$fn$;
