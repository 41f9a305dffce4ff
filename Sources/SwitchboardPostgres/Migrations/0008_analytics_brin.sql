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
