-- One row per person, the rule every per-person count follows: her profile after
-- `audience clean`, else (before any cleaning) her imported customer record.
CREATE VIEW persons AS
SELECT profile_id AS customer_id, signup_at, traits FROM profiles
UNION ALL
SELECT customer_id, signup_at, traits FROM customers
WHERE NOT EXISTS (SELECT 1 FROM profiles);
