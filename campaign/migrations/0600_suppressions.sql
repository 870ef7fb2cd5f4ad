-- 0600: the suppression list (issue 11): addresses that get nothing from couponbridge any more,
-- whatever the campaign: people who unsubscribed (the daemon's one-click route) and addresses
-- added by hand (`couponbridge suppress add`). Every job and every `issue` plans no row for them,
-- and no reminder goes to them. Rows already issued keep their history.

CREATE TABLE suppressions (
    email    TEXT NOT NULL PRIMARY KEY, -- normalized: trimmed, lower case
    reason   TEXT NOT NULL,
    source   TEXT NOT NULL,             -- unsubscribe (the link in an email) or manual
    campaign TEXT NOT NULL DEFAULT '',  -- the campaign whose email was used to unsubscribe
    at       TEXT NOT NULL
) STRICT;
