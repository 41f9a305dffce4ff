-- A new message's reply job taken in the transaction that stores the message.
--
-- Until now every inbound message cost a transaction of its own after the ingest: the
-- job's NOTIFY woke a dispatcher, which claimed the job and read its context in a second
-- statement (`claim_jobs` and `reply_context`). When the ingesting process has workers
-- free, this function takes the job for them in the ingest transaction itself — under
-- the same lease and fencing attempt a claim gives it — and answers its context with it,
-- so the worker starts at once. A process that dies before the job ends leaves a lease
-- that runs out, and the job is claimed again, as any claimed job is.
--
-- Only as many jobs as the caller can run (`p_take`) are taken; the rest stay queued and
-- wake every replica's workers with one notification, as before.

-- The notification of a new queued job can be held back by the transaction that inserts
-- it, when it takes its jobs itself (`app.jobs_taken_here`), and notifies for those it
-- leaves.
CREATE OR REPLACE FUNCTION notify_jobs() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('app.jobs_taken_here', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('switchboard_jobs', '');
    END IF;
    RETURN NULL;
END
$fn$;

-- `ingest_deliveries`, taking up to p_take of the new messages' reply jobs for p_worker:
-- each taken one comes back with its id, attempt and `reply_context` on the row of the
-- event that created it.
CREATE FUNCTION ingest_deliveries(p_batch jsonb, p_take integer, p_now timestamptz, p_lease interval, p_worker text)
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
                IF v_taken < p_take THEN
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

GRANT EXECUTE ON FUNCTION ingest_deliveries(jsonb, integer, timestamptz, interval, text) TO switchboard_app;

-- The batch without taking, kept for replicas still running the previous build during a
-- rolling upgrade: the same function taking none, so one body does the work.
CREATE OR REPLACE FUNCTION ingest_deliveries(p_batch jsonb)
RETURNS TABLE (delivery integer, event_id text, created boolean, message_id uuid)
LANGUAGE plpgsql AS $fn$
BEGIN
    RETURN QUERY
    SELECT t.delivery, t.event_id, t.created, t.message_id FROM ingest_deliveries(p_batch, 0, now(), interval '0', '') t;
END
$fn$;
