-- 0001: campaigns and the issue ledger.
--
-- Conventions for later migrations (jobs, webhook queue, redemption tracking):
--   * one file per version, NNNN_name.sql, applied once, in order, each in its own transaction;
--   * a new issue state is one INSERT INTO issue_states (no table rebuild: states are a lookup
--     table referenced by a foreign key, not a CHECK constraint);
--   * timestamps are TEXT in UTC, fixed width 'YYYY-MM-DDTHH:MM:SS.mmmZ', so they sort and
--     compare as text and SQLite's date functions read them.

CREATE TABLE campaigns (
    name         TEXT PRIMARY KEY,
    -- fingerprint of the settings that shape a coupon (template, export-only); a rerun with
    -- different settings is refused, so rows planned under one template are never verified
    -- against another.
    fingerprint  TEXT NOT NULL,
    export_only  INTEGER NOT NULL DEFAULT 0 CHECK (export_only IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE issue_states (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL
) STRICT;

INSERT INTO issue_states (name, description) VALUES
    ('planned',     'code chosen and recorded; not yet sent to the store'),
    ('creating',    'sent to the store; outcome not yet known'),
    ('created',     'the store confirmed the coupon; its id is recorded'),
    ('verified',    'read back from the store and matches what was asked'),
    ('sending',     'handed to the mail server; outcome not yet known'),
    ('emailed',     'the mail server accepted the message'),
    ('exported',    'export-only campaign: verified, to be handed out by the owner'),
    ('unconfirmed', 'was being emailed when a run stopped: the mail server may or may not have accepted it'),
    ('failed',      'stopped at failed_stage for last_error; needs review');

-- One row per (campaign, recipient): the coupon issued, or to be issued, to that recipient.
CREATE TABLE issues (
    id              INTEGER PRIMARY KEY,
    campaign        TEXT NOT NULL REFERENCES campaigns (name) ON DELETE CASCADE,
    -- recipient key: the normalized email address, or 'export-NNNNNNN' in export-only campaigns
    email           TEXT NOT NULL,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    fields          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),
    source_line     INTEGER NOT NULL DEFAULT 0,
    code            TEXT NOT NULL,
    code_key        TEXT NOT NULL,  -- lower(code): WooCommerce's identity of a coupon
    state           TEXT NOT NULL DEFAULT 'planned' REFERENCES issue_states (name),
    failed_stage    TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    coupon_id       INTEGER,
    -- the instant the coupon was first sent to the store, and the expiry computed from it:
    -- kept so that verification and a rerun rebuild exactly the coupon that was asked for.
    issued_at       TEXT,
    expires_at      TEXT,
    create_attempts INTEGER NOT NULL DEFAULT 0,
    mail_attempts   INTEGER NOT NULL DEFAULT 0,
    planned_at      TEXT NOT NULL,
    created_at      TEXT,
    verified_at     TEXT,
    emailed_at      TEXT,
    updated_at      TEXT NOT NULL,
    UNIQUE (campaign, email),
    UNIQUE (code_key)
) STRICT;

-- "the next N rows in state S of campaign C", in the order they were planned.
CREATE INDEX issues_by_state ON issues (campaign, state, id);
-- lookups by store id (verification, later: sync of redemptions).
CREATE INDEX issues_by_coupon ON issues (coupon_id) WHERE coupon_id IS NOT NULL;
