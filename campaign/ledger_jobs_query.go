package campaign

import (
	"context"
	"fmt"
)

// JobHistory is the recorded runs of one job, newest first.
type JobHistory struct {
	Job string
	// Runs holds at least one run, newest first.
	Runs []JobRun
}

// Last returns the most recent run of the job.
func (h JobHistory) Last() JobRun { return h.Runs[0] }

// RecentJobRuns returns, for every job with a recorded run, its last perJob
// runs (newest first), the jobs in name order: what `couponbridge status`
// shows of the daemon. campaign != "" keeps only the runs that issued into
// that campaign, and the jobs that have such runs. perJob < 1 means 1.
func (l *Ledger) RecentJobRuns(ctx context.Context, campaign string, perJob int) ([]JobHistory, error) {
	perJob = max(perJob, 1)
	// One pass over job_runs whatever the number of jobs; the window keeps
	// the newest perJob rows of each job (index job_runs_by_job).
	rows, err := l.db.QueryContext(ctx, `SELECT `+jobRunColumns+` FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY job ORDER BY id DESC) AS nth
		FROM job_runs WHERE ? = '' OR campaign = ?)
		WHERE nth <= ? ORDER BY job, id DESC`, campaign, campaign, perJob)
	if err != nil {
		return nil, fmt.Errorf("ledger: recent job runs: %w", err)
	}
	defer rows.Close()
	var out []JobHistory
	for rows.Next() {
		r, err := scanJobRun(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: recent job runs: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Job != r.Job {
			out = append(out, JobHistory{Job: r.Job})
		}
		h := &out[len(out)-1]
		h.Runs = append(h.Runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: recent job runs: %w", err)
	}
	return out, nil
}
