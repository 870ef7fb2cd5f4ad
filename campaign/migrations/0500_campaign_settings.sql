-- 0500: the settings a campaign was planned with, kept beside their fingerprint (issue 9), so
-- that a rerun with other settings is told which field changed and how ("coupon.amount: 10 → 15").
-- The value is the JSON whose SHA-256 is the fingerprint; '' for campaigns recorded before this
-- migration: a rerun with unchanged settings (same fingerprint) fills it in.
ALTER TABLE campaigns ADD COLUMN settings TEXT NOT NULL DEFAULT '';
