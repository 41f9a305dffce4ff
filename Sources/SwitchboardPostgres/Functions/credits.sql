-- Credits: the ledger's one entry point (`credit_apply`: grants, holds, captures,
-- releases, refunds), accounts and thresholds, the expiry sweeps, the append-only guard,
-- and a reply's answer stored and charged in one transaction.
--
-- The current definition of each function below lives here and nowhere else. Edit it
-- here: the migrator applies a changed file at the next start (README, "SQL functions
-- and migrations"). A migration is for tables, columns and indexes, and for dropping a
-- signature that is replaced.

-- Applies ledger operations to one tenant's account, in order, under its row lock, and
-- answers one result per operation (a JSON array). Every change to the balance or the
-- held amount is an entry; the account is written once, at the end.
--
-- Operations (p_ops is a JSON array of objects with "op"):
--   charge   {key, amount, reason, ...refs}   debit now; refused when the available
--            balance (balance - held) is short. Keyed: a key already charged answers its
--            first outcome ('duplicate'); a refused key is tried again.
--   hold     {reference, amount, expires_at, reason}  reserve; refused when short. A
--            reference already held answers that hold ('duplicate').
--   capture  {hold_id, amount, reason, ...refs}  take the real cost from the hold (beyond
--            it, from what is available; what cannot be taken is recorded as
--            uncollected), release the rest.
--   release  {hold_id, reason}  give the hold back. 'expire' does the same for the sweeper.
--   credit   {kind: grant|trial|top_up|refund|adjustment, amount, reason, key?, expires_at?}
--            add credits (an adjustment may be negative: refused when short).
-- refs: reference_kind, reference_id, agent_id, channel_id, message_id, provider_kind,
--       model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens.
CREATE OR REPLACE FUNCTION public.credit_apply(p_tenant uuid, p_ops jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
#variable_conflict use_column
DECLARE
    v_account credit_accounts;
    v_balance bigint;
    v_held bigint;
    v_op jsonb;
    v_kind text;
    v_amount bigint;
    v_results jsonb := '[]'::jsonb;
    v_result jsonb;
    v_charge credit_charges;
    v_hold credit_holds;
    v_entry uuid;
    v_from_hold bigint;
    v_extra bigint;
    v_taken bigint;
    v_changed boolean := false;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    SELECT * INTO v_account FROM credit_accounts a WHERE a.tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % has no credit account', p_tenant USING ERRCODE = 'SBC01';
    END IF;
    v_balance := v_account.balance_micros;
    v_held := v_account.held_micros;

    FOR v_op IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
        v_kind := v_op->>'op';
        v_amount := (v_op->>'amount')::bigint;
        v_result := NULL;
        v_entry := NULL;

        IF v_kind = 'charge' THEN
            IF v_amount IS NULL OR v_amount <= 0 THEN
                RAISE EXCEPTION 'a charge needs a positive amount' USING ERRCODE = '22023';
            END IF;
            v_charge := NULL;
            SELECT * INTO v_charge FROM credit_charges c WHERE c.tenant_id = p_tenant AND c.key = v_op->>'key';
            IF FOUND AND v_charge.amount_micros <> v_amount THEN
                v_result := jsonb_build_object('outcome', 'key_reused', 'entry_id', v_charge.entry_id);
            ELSIF FOUND AND v_charge.outcome = 'charged' THEN
                UPDATE credit_charges c SET tries = c.tries + 1, updated_at = now() WHERE c.tenant_id = p_tenant AND c.key = v_charge.key;
                v_result := jsonb_build_object('outcome', 'duplicate', 'entry_id', v_charge.entry_id);
            ELSIF v_balance - v_held >= v_amount THEN
                v_balance := v_balance - v_amount;
                v_entry := gen_random_uuid();
                INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, balance_after_micros, held_after_micros, reason, key,
                    reference_kind, reference_id, agent_id, channel_id, message_id, provider_kind, model,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens)
                VALUES (p_tenant, v_entry, 'capture', -v_amount, v_balance, v_held, COALESCE(v_op->>'reason', 'charge'), v_op->>'key',
                    v_op->>'reference_kind', v_op->>'reference_id', (v_op->>'agent_id')::uuid, (v_op->>'channel_id')::uuid,
                    (v_op->>'message_id')::uuid, v_op->>'provider_kind', v_op->>'model', (v_op->>'input_tokens')::bigint,
                    (v_op->>'cached_input_tokens')::bigint, (v_op->>'output_tokens')::bigint, (v_op->>'reasoning_tokens')::bigint);
                INSERT INTO credit_charges AS c (tenant_id, key, amount_micros, outcome, entry_id)
                SELECT p_tenant, v_op->>'key', v_amount, 'charged', v_entry WHERE v_op->>'key' IS NOT NULL
                ON CONFLICT (tenant_id, key) DO UPDATE SET outcome = 'charged', entry_id = v_entry, tries = c.tries + 1, updated_at = now();
                v_result := jsonb_build_object('outcome', 'charged', 'entry_id', v_entry);
                v_changed := true;
            ELSE
                INSERT INTO credit_charges AS c (tenant_id, key, amount_micros, outcome)
                SELECT p_tenant, v_op->>'key', v_amount, 'refused' WHERE v_op->>'key' IS NOT NULL
                ON CONFLICT (tenant_id, key) DO UPDATE SET tries = c.tries + 1, updated_at = now();
                v_result := jsonb_build_object('outcome', 'refused');
            END IF;

        ELSIF v_kind = 'hold' THEN
            IF v_amount IS NULL OR v_amount <= 0 THEN
                RAISE EXCEPTION 'a hold needs a positive amount' USING ERRCODE = '22023';
            END IF;
            SELECT * INTO v_hold FROM credit_holds h WHERE h.tenant_id = p_tenant AND h.reference = v_op->>'reference';
            IF FOUND THEN
                v_result := jsonb_build_object('outcome', 'duplicate', 'hold_id', v_hold.id, 'status', v_hold.status);
            ELSIF v_balance - v_held >= v_amount THEN
                v_held := v_held + v_amount;
                INSERT INTO credit_holds (tenant_id, id, reference, amount_micros, status, expires_at)
                VALUES (p_tenant, gen_random_uuid(), v_op->>'reference', v_amount, 'open', (v_op->>'expires_at')::timestamptz)
                RETURNING * INTO v_hold;
                v_entry := gen_random_uuid();
                INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, held_delta_micros, balance_after_micros, held_after_micros,
                    reason, hold_id, reference_kind, reference_id, agent_id, channel_id, message_id)
                VALUES (p_tenant, v_entry, 'hold', 0, v_amount, v_balance, v_held, COALESCE(v_op->>'reason', 'hold'), v_hold.id,
                    v_op->>'reference_kind', v_op->>'reference_id', (v_op->>'agent_id')::uuid, (v_op->>'channel_id')::uuid,
                    (v_op->>'message_id')::uuid);
                v_result := jsonb_build_object('outcome', 'held', 'hold_id', v_hold.id, 'entry_id', v_entry);
                v_changed := true;
            ELSE
                v_result := jsonb_build_object('outcome', 'refused');
            END IF;

        ELSIF v_kind = 'capture' THEN
            IF v_amount IS NULL OR v_amount < 0 THEN
                RAISE EXCEPTION 'a capture needs an amount of zero or more' USING ERRCODE = '22023';
            END IF;
            SELECT * INTO v_hold FROM credit_holds h WHERE h.tenant_id = p_tenant AND h.id = (v_op->>'hold_id')::uuid FOR UPDATE;
            IF NOT FOUND THEN
                v_result := jsonb_build_object('outcome', 'not_found');
            ELSIF v_hold.status IN ('captured', 'released') THEN
                v_result := jsonb_build_object('outcome', 'duplicate', 'status', v_hold.status);
            ELSE
                -- An open hold pays first; an expired one (its worker was presumed dead)
                -- no longer holds anything, so the cost comes from what is available.
                v_from_hold := CASE WHEN v_hold.status = 'open' THEN least(v_amount, v_hold.amount_micros) ELSE 0 END;
                v_extra := v_amount - v_from_hold;
                v_taken := least(v_extra, greatest(v_balance - v_held, 0));
                IF v_from_hold + v_taken > 0 OR v_extra > 0 THEN
                    v_balance := v_balance - v_from_hold - v_taken;
                    v_held := v_held - v_from_hold;
                    v_entry := gen_random_uuid();
                    INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, held_delta_micros, balance_after_micros,
                        held_after_micros, reason, hold_id, uncollected_micros, reference_kind, reference_id, agent_id, channel_id,
                        message_id, provider_kind, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens)
                    VALUES (p_tenant, v_entry, 'capture', -(v_from_hold + v_taken), -v_from_hold, v_balance, v_held,
                        COALESCE(v_op->>'reason', 'capture'), v_hold.id, v_extra - v_taken, v_op->>'reference_kind',
                        v_op->>'reference_id', (v_op->>'agent_id')::uuid, (v_op->>'channel_id')::uuid, (v_op->>'message_id')::uuid,
                        v_op->>'provider_kind', v_op->>'model', (v_op->>'input_tokens')::bigint,
                        (v_op->>'cached_input_tokens')::bigint, (v_op->>'output_tokens')::bigint, (v_op->>'reasoning_tokens')::bigint);
                END IF;
                IF v_hold.status = 'open' AND v_hold.amount_micros > v_from_hold THEN
                    v_held := v_held - (v_hold.amount_micros - v_from_hold);
                    INSERT INTO credit_entries (tenant_id, kind, amount_micros, held_delta_micros, balance_after_micros,
                        held_after_micros, reason, hold_id)
                    VALUES (p_tenant, 'release', 0, -(v_hold.amount_micros - v_from_hold), v_balance, v_held,
                        'the rest of the hold after its capture', v_hold.id);
                END IF;
                UPDATE credit_holds h SET status = 'captured', captured_micros = v_from_hold + v_taken, settled_at = now()
                WHERE h.tenant_id = p_tenant AND h.id = v_hold.id;
                v_result := jsonb_build_object('outcome', 'captured', 'entry_id', v_entry, 'captured', v_from_hold + v_taken,
                    'uncollected', v_extra - v_taken);
                v_changed := true;
            END IF;

        ELSIF v_kind IN ('release', 'expire') THEN
            SELECT * INTO v_hold FROM credit_holds h WHERE h.tenant_id = p_tenant AND h.id = (v_op->>'hold_id')::uuid FOR UPDATE;
            IF NOT FOUND THEN
                v_result := jsonb_build_object('outcome', 'not_found');
            ELSIF v_hold.status <> 'open' THEN
                v_result := jsonb_build_object('outcome', 'duplicate', 'status', v_hold.status);
            ELSE
                v_held := v_held - v_hold.amount_micros;
                v_entry := gen_random_uuid();
                INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, held_delta_micros, balance_after_micros, held_after_micros,
                    reason, hold_id)
                VALUES (p_tenant, v_entry, 'release', 0, -v_hold.amount_micros, v_balance, v_held,
                    COALESCE(v_op->>'reason', CASE WHEN v_kind = 'expire' THEN 'the hold expired: its worker did not finish' ELSE 'release' END),
                    v_hold.id);
                UPDATE credit_holds h SET status = CASE WHEN v_kind = 'expire' THEN 'expired' ELSE 'released' END, settled_at = now()
                WHERE h.tenant_id = p_tenant AND h.id = v_hold.id;
                v_result := jsonb_build_object('outcome', CASE WHEN v_kind = 'expire' THEN 'expired' ELSE 'released' END, 'entry_id', v_entry);
                v_changed := true;
            END IF;

        ELSIF v_kind = 'expire_credits' THEN
            -- What is left of an expired grant leaves the balance; never what is held.
            v_amount := least(v_amount, greatest(v_balance - v_held, 0));
            IF v_amount > 0 THEN
                v_balance := v_balance - v_amount;
                v_entry := gen_random_uuid();
                INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, balance_after_micros, held_after_micros, reason,
                    reference_kind, reference_id)
                VALUES (p_tenant, v_entry, 'expiry', -v_amount, v_balance, v_held, COALESCE(v_op->>'reason', 'granted credits expired'),
                    'entry', v_op->>'reference_id');
                v_changed := true;
            END IF;
            v_result := jsonb_build_object('outcome', 'expired', 'entry_id', v_entry, 'captured', v_amount);

        ELSIF v_kind = 'credit' THEN
            IF v_amount IS NULL OR v_amount = 0 OR (v_amount < 0 AND v_op->>'kind' <> 'adjustment') THEN
                RAISE EXCEPTION 'a credit needs a positive amount' USING ERRCODE = '22023';
            END IF;
            SELECT e.id INTO v_entry FROM credit_entries e
            WHERE e.tenant_id = p_tenant AND e.key = v_op->>'key' AND e.kind <> 'capture';
            IF v_entry IS NOT NULL THEN
                v_result := jsonb_build_object('outcome', 'duplicate', 'entry_id', v_entry);
            ELSIF v_amount < 0 AND v_balance - v_held < -v_amount THEN
                v_result := jsonb_build_object('outcome', 'refused');
            ELSE
                v_balance := v_balance + v_amount;
                v_entry := gen_random_uuid();
                INSERT INTO credit_entries (tenant_id, id, kind, amount_micros, balance_after_micros, held_after_micros, reason, key,
                    reference_kind, reference_id, expires_at)
                VALUES (p_tenant, v_entry, v_op->>'kind', v_amount, v_balance, v_held, COALESCE(v_op->>'reason', v_op->>'kind'),
                    v_op->>'key', v_op->>'reference_kind', v_op->>'reference_id', (v_op->>'expires_at')::timestamptz);
                v_result := jsonb_build_object('outcome', 'credited', 'entry_id', v_entry);
                v_changed := true;
            END IF;

        ELSE
            RAISE EXCEPTION 'unknown ledger operation %', v_kind USING ERRCODE = '22023';
        END IF;

        v_results := v_results || jsonb_build_array(v_result || jsonb_build_object('balance', v_balance, 'held', v_held));
    END LOOP;

    IF v_changed THEN
        -- The conditional write: never below zero, never more held than there is.
        UPDATE credit_accounts a SET balance_micros = v_balance, held_micros = v_held, updated_at = now(),
            low_balance_since = CASE WHEN v_balance < a.low_balance_threshold_micros THEN COALESCE(a.low_balance_since, now()) END
        WHERE a.tenant_id = p_tenant AND v_balance >= 0 AND v_held >= 0 AND v_held <= v_balance;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the credit account of % would go below zero', p_tenant USING ERRCODE = 'SBC01';
        END IF;
    END IF;
    RETURN v_results;
END
$function$;
REVOKE ALL ON FUNCTION credit_apply(p_tenant uuid, p_ops jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_apply(p_tenant uuid, p_ops jsonb) TO switchboard_app;

-- Nobody rewrites history: an entry is never updated (but for an erasure dropping its
-- message reference), and deleted only with its tenant.
CREATE OR REPLACE FUNCTION public.credit_entries_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_anonymized credit_entries;
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD; -- the tenant's off-boarding cascade
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- An erasure may drop the reference to a person's message, and change nothing else.
        v_anonymized := OLD;
        v_anonymized.message_id := NULL;
        v_anonymized.reference_id := NULL;
        IF NEW IS NOT DISTINCT FROM v_anonymized THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the credit ledger is append-only: % of an entry refused', TG_OP USING ERRCODE = 'SBC02';
END
$function$;

-- The expiry sweeper: for each tenant with a grant past its expiry (at most p_limit
-- tenants), under the account lock (so every entry of the tenant is committed), brings
-- credit_lots up to date with the entries since the last run — a grant with an expiry
-- opens a lot; a debit draws on the open lots, soonest expiry first — then takes what is
-- left of each expired lot by an `expiry` entry (never what is held: that waits for the
-- next run). Answers how many lots expired.
CREATE OR REPLACE FUNCTION public.credit_expire_grants(p_now timestamp with time zone, p_limit integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_tenant uuid;
    v_account credit_accounts;
    v_grant record;
    v_lot record;
    v_previous bigint;
    v_last bigint;
    v_debit bigint;
    v_take bigint;
    v_result jsonb;
    v_count integer := 0;
BEGIN
    PERFORM set_config('app.worker', 'on', true);
    FOR v_tenant IN
        SELECT DISTINCT e.tenant_id FROM credit_entries e
        WHERE e.expires_at IS NOT NULL AND e.expires_at <= p_now AND e.amount_micros > 0
          AND NOT EXISTS (SELECT 1 FROM credit_lots l WHERE l.tenant_id = e.tenant_id AND l.entry_seq = e.seq AND l.remaining_micros = 0)
        ORDER BY 1 LIMIT p_limit
    LOOP
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
        SELECT * INTO v_account FROM credit_accounts a WHERE a.tenant_id = v_tenant FOR UPDATE;
        v_previous := v_account.lots_seq;
        SELECT COALESCE(max(e.seq), v_previous) INTO v_last FROM credit_entries e WHERE e.tenant_id = v_tenant;
        -- Walk the grants with an expiry since the last run; the debits between two of them
        -- (summed: charges never touch the lots) draw on the lots open at that time.
        FOR v_grant IN
            SELECT e.seq, e.amount_micros, e.expires_at FROM credit_entries e
            WHERE e.tenant_id = v_tenant AND e.seq > v_previous AND e.seq <= v_last AND e.amount_micros > 0 AND e.expires_at IS NOT NULL
            UNION ALL SELECT v_last + 1, 0, NULL
            ORDER BY 1
        LOOP
            SELECT COALESCE(-sum(e.amount_micros), 0) INTO v_debit FROM credit_entries e
            WHERE e.tenant_id = v_tenant AND e.seq > v_previous AND e.seq < v_grant.seq AND e.amount_micros < 0 AND e.kind <> 'expiry';
            FOR v_lot IN
                SELECT l.entry_seq, l.remaining_micros FROM credit_lots l
                WHERE l.tenant_id = v_tenant AND l.remaining_micros > 0 ORDER BY l.expires_at, l.entry_seq
            LOOP
                EXIT WHEN v_debit = 0;
                v_take := least(v_debit, v_lot.remaining_micros);
                UPDATE credit_lots l SET remaining_micros = l.remaining_micros - v_take
                WHERE l.tenant_id = v_tenant AND l.entry_seq = v_lot.entry_seq;
                v_debit := v_debit - v_take;
            END LOOP;
            IF v_grant.expires_at IS NOT NULL THEN
                INSERT INTO credit_lots (tenant_id, entry_seq, expires_at, remaining_micros)
                VALUES (v_tenant, v_grant.seq, v_grant.expires_at, v_grant.amount_micros);
            END IF;
            v_previous := v_grant.seq;
        END LOOP;
        FOR v_lot IN
            SELECT l.entry_seq, l.remaining_micros FROM credit_lots l
            WHERE l.tenant_id = v_tenant AND l.remaining_micros > 0 AND l.expires_at <= p_now ORDER BY l.expires_at, l.entry_seq
        LOOP
            v_result := credit_apply(v_tenant, jsonb_build_array(jsonb_build_object(
                'op', 'expire_credits', 'amount', v_lot.remaining_micros, 'reference_id', v_lot.entry_seq::text)))->0;
            v_take := (v_result->>'captured')::bigint;
            UPDATE credit_lots l SET remaining_micros = l.remaining_micros - v_take
            WHERE l.tenant_id = v_tenant AND l.entry_seq = v_lot.entry_seq;
            IF v_take = v_lot.remaining_micros THEN
                v_count := v_count + 1;
            END IF;
        END LOOP;
        -- Under the account lock nothing else was written: every entry is accounted for
        -- (the expiry entries just written are not debits of the lots).
        UPDATE credit_accounts a SET lots_seq = (SELECT max(e.seq) FROM credit_entries e WHERE e.tenant_id = v_tenant)
        WHERE a.tenant_id = v_tenant;
    END LOOP;
    RETURN v_count;
END
$function$;
REVOKE ALL ON FUNCTION credit_expire_grants(p_now timestamp with time zone, p_limit integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_expire_grants(p_now timestamp with time zone, p_limit integer) TO switchboard_app;

-- The sweeper: expires open holds whose time is past (their worker died or hung), at
-- most p_limit of them, each tenant's under its account lock; answers how many.
CREATE OR REPLACE FUNCTION public.credit_expire_holds(p_now timestamp with time zone, p_limit integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'on'
AS $function$
DECLARE
    v_tenant record;
    v_count integer := 0;
BEGIN
    PERFORM set_config('app.worker', 'on', true);
    FOR v_tenant IN
        SELECT h.tenant_id, jsonb_agg(jsonb_build_object('op', 'expire', 'hold_id', h.id)) AS ops, count(*) AS n
        FROM (SELECT tenant_id, id FROM credit_holds WHERE status = 'open' AND expires_at <= p_now
              ORDER BY expires_at LIMIT p_limit) h
        GROUP BY h.tenant_id ORDER BY h.tenant_id
    LOOP
        PERFORM credit_apply(v_tenant.tenant_id, v_tenant.ops);
        v_count := v_count + v_tenant.n;
    END LOOP;
    RETURN v_count;
END
$function$;
REVOKE ALL ON FUNCTION credit_expire_holds(p_now timestamp with time zone, p_limit integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_expire_holds(p_now timestamp with time zone, p_limit integer) TO switchboard_app;

-- Opens a tenant's account, with its trial grant when there is one.
CREATE OR REPLACE FUNCTION public.credit_open_account(p_tenant uuid, p_trial bigint)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    INSERT INTO credit_accounts (tenant_id) VALUES (p_tenant) ON CONFLICT DO NOTHING;
    IF p_trial > 0 THEN
        PERFORM credit_apply(p_tenant, jsonb_build_array(jsonb_build_object(
            'op', 'credit', 'kind', 'trial', 'amount', p_trial, 'reason', 'trial credits', 'key', 'trial')));
    END IF;
END
$function$;
REVOKE ALL ON FUNCTION credit_open_account(p_tenant uuid, p_trial bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_open_account(p_tenant uuid, p_trial bigint) TO switchboard_app;

-- The low-balance threshold is the tenant's to set; it re-marks the account at once.
CREATE OR REPLACE FUNCTION public.credit_set_threshold(p_tenant uuid, p_threshold bigint)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "app.cross_tenant" TO 'off'
AS $function$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    UPDATE credit_accounts a SET low_balance_threshold_micros = p_threshold,
        low_balance_since = CASE WHEN a.balance_micros < p_threshold THEN COALESCE(a.low_balance_since, now()) END
    WHERE a.tenant_id = p_tenant;
END
$function$;
REVOKE ALL ON FUNCTION credit_set_threshold(p_tenant uuid, p_threshold bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_set_threshold(p_tenant uuid, p_threshold bigint) TO switchboard_app;

-- settle_reply with the reply's credits settled in the same transaction: its hold captured
-- at the cost of the calls made, or released.
CREATE OR REPLACE FUNCTION public.settle_reply_charged(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_job_status text, p_run_after timestamp with time zone, p_reply_status text, p_error text, p_handoff text, p_calls jsonb, p_capture jsonb, p_hold uuid)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM settle_reply(p_tenant, p_job, p_attempt, p_inbound, p_agent, p_job_status, p_run_after, p_reply_status, p_error,
                         p_handoff, p_calls);
    IF p_capture IS NOT NULL THEN
        PERFORM credit_apply(p_tenant, jsonb_build_array(p_capture));
    ELSIF p_hold IS NOT NULL THEN
        PERFORM credit_apply(p_tenant, jsonb_build_array(jsonb_build_object(
            'op', 'release', 'hold_id', p_hold, 'reason', 'no provider answered')));
    END IF;
END
$function$;
GRANT EXECUTE ON FUNCTION settle_reply_charged(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_job_status text, p_run_after timestamp with time zone, p_reply_status text, p_error text, p_handoff text, p_calls jsonb, p_capture jsonb, p_hold uuid) TO switchboard_app;

-- The reply worker's last steps, with their ledger operations in the same statement: an
-- answer stored captures its hold (or, when another attempt's answer stands, releases
-- it); a reply settled without an answer captures what its calls cost (a model that
-- answered nothing usable was still paid) or releases its hold. p_reply_status other than
-- 'answered' marks the inbound message (an out-of-credits reply is 'out_of_credits').
CREATE OR REPLACE FUNCTION public.store_answer_charged(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_provider uuid, p_model text, p_text text, p_usage jsonb, p_calls jsonb, p_worker text, p_now timestamp with time zone, p_lease interval, p_capture jsonb, p_hold uuid, p_reply_status text)
 RETURNS TABLE(answer uuid, send_job uuid)
 LANGUAGE plpgsql
AS $function$
BEGIN
    RETURN QUERY SELECT * FROM store_answer(p_tenant, p_job, p_attempt, p_inbound, p_agent, p_provider, p_model, p_text, p_usage,
                                            p_calls, p_worker, p_now, p_lease);
    IF FOUND THEN
        IF p_capture IS NOT NULL THEN
            PERFORM credit_apply(p_tenant, jsonb_build_array(p_capture));
        END IF;
        IF p_reply_status IS DISTINCT FROM 'answered' THEN
            UPDATE messages m SET reply_status = p_reply_status WHERE m.tenant_id = p_tenant AND m.id = p_inbound;
        END IF;
    ELSIF p_hold IS NOT NULL THEN
        PERFORM credit_apply(p_tenant, jsonb_build_array(jsonb_build_object(
            'op', 'release', 'hold_id', p_hold, 'reason', 'another attempt answered this message')));
    END IF;
END
$function$;
GRANT EXECUTE ON FUNCTION store_answer_charged(p_tenant uuid, p_job uuid, p_attempt integer, p_inbound uuid, p_agent uuid, p_provider uuid, p_model text, p_text text, p_usage jsonb, p_calls jsonb, p_worker text, p_now timestamp with time zone, p_lease interval, p_capture jsonb, p_hold uuid, p_reply_status text) TO switchboard_app;
