-- 0700: resends are new messages, and reissue (issue 11).
-- A resend has a Message-ID of its own (it refers to the first email by References), kept here so
-- that lookup can name it. A reissue gives a recipient a new code when theirs was deleted, trashed
-- or expired: the row takes the new code and goes through the pipeline again, and the code it had
-- is kept in issue_history, so that lookup still finds it and no later code can take it.

ALTER TABLE resends ADD COLUMN message_id TEXT NOT NULL DEFAULT '';

-- How many times the row's coupon was replaced by a reissue: its email gets a Message-ID of its
-- own per reissue (a mail system would drop the first one's ID as a duplicate).
ALTER TABLE issues ADD COLUMN reissues INTEGER NOT NULL DEFAULT 0;

-- One row per code a reissue replaced.
CREATE TABLE issue_history (
    id           INTEGER PRIMARY KEY,
    issue_id     INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    campaign     TEXT NOT NULL,
    email        TEXT NOT NULL,
    code         TEXT NOT NULL,
    code_key     TEXT NOT NULL UNIQUE,
    coupon_id    INTEGER,
    -- the row's state when it was replaced (emailed, unconfirmed, pruned)
    state        TEXT NOT NULL,
    -- what the store had: 'deleted' (gone or trashed), 'expired', or 'live' (replaced with --force)
    store_state  TEXT NOT NULL,
    -- whether reissue moved the coupon to the trash
    trashed      INTEGER NOT NULL DEFAULT 0 CHECK (trashed IN (0, 1)),
    usage_count  INTEGER NOT NULL DEFAULT 0,
    issued_at    TEXT,
    expires_at   TEXT,
    emailed_at   TEXT,
    reason       TEXT NOT NULL DEFAULT '',
    replaced_at  TEXT NOT NULL
) STRICT;

CREATE INDEX issue_history_by_issue ON issue_history (issue_id, id);
