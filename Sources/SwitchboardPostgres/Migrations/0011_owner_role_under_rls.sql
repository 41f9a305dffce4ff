-- The schema's owner is no longer a superuser (Migrator.ownerRole): row-level security now
-- holds inside the SECURITY DEFINER functions, which run as that owner. Until now they ran
-- as the superuser that migrated, with every policy off.
--
-- Inside a function the tables' own policies apply, with the caller's settings: a function
-- that takes a tenant sees that tenant's rows when its caller's transaction is scoped to it
-- (app.tenant_id), and nothing of another tenant's. A function that must work across tenants
-- says so in its definition with `SET app.cross_tenant = on`; every SECURITY DEFINER function
-- names the setting, on or off, so a caller cannot carry 'on' into one that should not have
-- it. The policy below lets the owner, and only the owner, through while it is on. The
-- migrator turns it on for the migrating transaction, so data migrations see every row.
--
-- A migration that adds a table with row-level security adds this policy to it; one that
-- (re)creates a SECURITY DEFINER function gives it the setting (CREATE OR REPLACE drops the
-- function's settings). A test checks both.
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

-- The functions that work across tenants: the periodic sweeps and rollups, and the ones they
-- call. Every other SECURITY DEFINER function is scoped by its caller.
DO $$
DECLARE
    v_function record;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure AS signature, p.proname AS name
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET app.cross_tenant = %L', v_function.signature,
            CASE WHEN v_function.name IN (
                'credit_expire_holds', 'credit_expire_grants', 'retention_sweep',
                'analytics_refresh', 'analytics_refresh_window', 'analytics_refresh_hours', 'analytics_refresh_months'
            ) THEN 'on' ELSE 'off' END);
    END LOOP;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'the migrating role may not name app.cross_tenant in a function''s settings: as a superuser, run GRANT SET ON PARAMETER app.cross_tenant TO %', current_user;
END $$;
