-- Placeholder for migration 0011, which another branch of the same release adds: the
-- migrator refuses gaps, and this branch's 0012 needs one before it. Dropped at merge.
SELECT 1;
