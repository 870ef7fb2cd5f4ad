-- 0100: scheduled jobs (issue 5): job runs and the webhook queue.

-- One row per run of a job. A run is inserted as 'running' before it touches anything and
-- finished with its outcome; a row still 'running' when a process starts belongs to a process
-- that died, and is marked 'interrupted'.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    campaign    TEXT NOT NULL,
    source      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'success', 'failed', 'interrupted')),
    found       INTEGER NOT NULL DEFAULT 0,  -- candidates the source returned
    rejected    INTEGER NOT NULL DEFAULT 0,  -- rows the source could not use (bad addresses)
    suppressed  INTEGER NOT NULL DEFAULT 0,  -- left out by a suppression rule
    capped      INTEGER NOT NULL DEFAULT 0,  -- left for a later run by max_per_run / max_per_day
    planned     INTEGER NOT NULL DEFAULT 0,  -- new rows planned in the campaign
    issued      INTEGER NOT NULL DEFAULT 0,  -- rows that reached emailed or exported during the run
    failed      INTEGER NOT NULL DEFAULT 0,  -- rows that ended failed during the run
    -- the source's position (e.g. the newest registration seen); stored with outcome 'success'
    -- only, so a failed run is retried from the same place.
    watermark   TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX job_runs_by_job ON job_runs (job, id);

-- Every webhook delivery accepted, by WooCommerce's delivery id: a repeat is recognised and
-- not queued twice.
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    webhook_id  TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
) STRICT;

-- Work queued for a job: one row per (job, delivery). A job run takes pending rows and marks
-- each, in the transaction that plans its recipient, as planned or suppressed. Rows left out
-- by a cap stay pending for the next run.
CREATE TABLE job_queue (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (delivery_id),
    topic       TEXT NOT NULL,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    customer_id INTEGER NOT NULL DEFAULT 0,
    paying      INTEGER NOT NULL DEFAULT 0 CHECK (paying IN (0, 1)),
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'planned', 'suppressed')),
    reason      TEXT NOT NULL DEFAULT '',
    run_id      INTEGER REFERENCES job_runs (id),
    done_at     TEXT,
    UNIQUE (job, delivery_id)
) STRICT;

CREATE INDEX job_queue_pending ON job_queue (job, id) WHERE status = 'pending';
