-- 0200: tracking and lifecycle (issue 6): what sync saw of each issued coupon in the store,
-- the orders that used the campaigns' codes, prune, resends and reminders.
-- Timestamps follow 0001's convention (UTC text 'YYYY-MM-DDTHH:MM:SS.mmmZ').

INSERT OR IGNORE INTO issue_states (name, description) VALUES
    ('pruned', 'expired unused: deleted from the store by prune; the row keeps its history');

-- One row per issued coupon that sync, prune or a reminder has looked at.
CREATE TABLE coupon_tracking (
    issue_id         INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    -- usage_count as last read from the store
    usage_count      INTEGER NOT NULL DEFAULT 0,
    -- when the code was first seen used (or the earliest counting order that used it, if
    -- earlier); NULL while unused, and again after its use was given back
    redeemed_at      TEXT,
    -- the last time a use was given back (usage_count fell back to 0: a cancelled order)
    use_returned_at  TEXT,
    use_returned     INTEGER NOT NULL DEFAULT 0,
    -- 'present', or 'deleted' when the coupon was missing or trashed in the store
    store_presence   TEXT NOT NULL DEFAULT 'present' CHECK (store_presence IN ('present', 'deleted')),
    deleted_at       TEXT,
    -- what someone changed by hand in the store ('' when the coupon is as it was asked)
    store_changes    TEXT NOT NULL DEFAULT '',
    changed_at       TEXT,
    -- the expiry the store has now (may differ from issues.expires_at when changed by hand)
    store_expires_at TEXT,
    synced_at        TEXT,
    pruned_at        TEXT,
    -- expiry reminder: 'sending' is written before the mail server sees it, 'sent' after it
    -- accepted; a row is never reminded again once it left ''
    reminder_state   TEXT NOT NULL DEFAULT '' CHECK (reminder_state IN ('', 'sending', 'sent', 'failed')),
    reminded_at      TEXT,
    reminder_error   TEXT NOT NULL DEFAULT '',
    updated_at       TEXT NOT NULL
) STRICT;

-- One row per (order, code) of a campaign: re-reading an order updates its row, so an order
-- is counted once.
CREATE TABLE coupon_orders (
    order_id         INTEGER NOT NULL,
    code_key         TEXT NOT NULL,
    campaign         TEXT NOT NULL REFERENCES campaigns (name) ON DELETE CASCADE,
    issue_id         INTEGER REFERENCES issues (id) ON DELETE SET NULL,
    status           TEXT NOT NULL,
    currency         TEXT NOT NULL DEFAULT '',
    -- decimal strings as the store gives them: the order's total, this code's discount
    total            TEXT NOT NULL DEFAULT '0',
    discount         TEXT NOT NULL DEFAULT '0',
    order_created_at TEXT,
    first_seen_at    TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (order_id, code_key)
) STRICT;

CREATE INDEX coupon_orders_by_campaign ON coupon_orders (campaign, order_id);

-- Per campaign: the last time its orders were read (sync's watermark for incremental reads).
CREATE TABLE campaign_sync (
    campaign       TEXT PRIMARY KEY REFERENCES campaigns (name) ON DELETE CASCADE,
    coupons_at     TEXT,
    orders_at      TEXT,
    updated_at     TEXT NOT NULL
) STRICT;

-- Every resend of a code: the same code, the same Message-ID.
CREATE TABLE resends (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    forced      INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    -- 'sending' before the mail server sees it; 'sent' or 'failed' after
    state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    reply       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    finished_at TEXT
) STRICT;

CREATE INDEX resends_by_issue ON resends (issue_id);
