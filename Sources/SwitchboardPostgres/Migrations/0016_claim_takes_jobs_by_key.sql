-- The queue's index by time alone goes.
--
-- `jobs_ready` (run_after, partial on queued jobs) served the FIFO claim. Under the fair
-- claim the planner still preferred it for "this tenant's oldest ready jobs", walking the
-- whole queue in time order and filtering by tenant — with one tenant's backlog of 20,000
-- ahead of another's one job, 40,000 pages for that one job. Every reader of the ready
-- queue now asks by tenant, along `jobs_ready_by_tenant` (0012), the only index left on
-- queued jobs. The claim that goes with it (each chosen job taken by its key, generic
-- plans) is `claim_jobs` in Functions/jobs_and_replies.sql.
DROP INDEX jobs_ready;
