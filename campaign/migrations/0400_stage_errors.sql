-- 0400: the last error of each stage of a campaign, so that `status` can say why rows are
-- still to do (the store unreachable, the mail server refusing) after the run has ended.
-- A row is replaced by the next error of that stage and deleted when the stage next
-- finishes with nothing left.

CREATE TABLE stage_errors (
    campaign TEXT NOT NULL REFERENCES campaigns (name) ON DELETE CASCADE,
    stage    TEXT NOT NULL,
    error    TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (campaign, stage)
) STRICT;
