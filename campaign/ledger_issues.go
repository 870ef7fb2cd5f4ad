package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is where one ledger row (one recipient of one campaign) stands.
//
//	planned → creating → created → verified → sending → emailed
//	                              ↘ exported (export-only campaigns)
//	any stage → failed (with the stage and the reason)
//	sending, found by a later run → unconfirmed
//	verified, read back too long ago → created (read back again)
type State string

// The states of a ledger row. Later migrations add states by inserting into
// the issue_states table.
const (
	// StatePlanned: the code is chosen and recorded; nothing sent yet.
	StatePlanned State = "planned"
	// StateCreating: sent to the store, outcome not yet known. A run that
	// finds rows in this state looks their codes up before sending anything.
	StateCreating State = "creating"
	// StateCreated: the store confirmed the coupon; its id is recorded.
	StateCreated State = "created"
	// StateVerified: read back from the store and matching what was asked;
	// the only state from which a code may be emailed.
	StateVerified State = "verified"
	// StateSending: handed to the mail server, outcome not yet known.
	StateSending State = "sending"
	// StateEmailed: the mail server accepted the message.
	StateEmailed State = "emailed"
	// StateExported: export-only campaign, coupon verified in the store.
	StateExported State = "exported"
	// StateUnconfirmed: the row was being emailed when a run stopped; the
	// mail server may or may not have accepted it. Never resent
	// automatically; shown by status for the owner to decide.
	StateUnconfirmed State = "unconfirmed"
	// StateFailed: stopped at a stage for a recorded reason; needs review.
	StateFailed State = "failed"
)

// States returns the states of this version in pipeline order, for
// display. StatePruned belongs to tracking (issue_states gains it in
// migration 0200).
func States() []State {
	return []State{StatePlanned, StateCreating, StateCreated, StateVerified, StateSending,
		StateEmailed, StateExported, StateUnconfirmed, StateFailed, StatePruned}
}

// Stage names a step of the issuing pipeline: where a row failed, and what a
// progress report is about.
type Stage string

// The stages of an issuing run.
const (
	StagePlan   Stage = "plan"
	StageCreate Stage = "create"
	StageVerify Stage = "verify"
	StageEmail  Stage = "email"
)

// ErrCampaignChanged is returned when a campaign is run again with coupon
// settings different from those its rows were planned with.
var ErrCampaignChanged = errors.New("campaign settings changed since it was planned")

// Issue is one ledger row: the coupon issued, or to be issued, to one
// recipient of one campaign.
type Issue struct {
	ID       int64
	Campaign string
	// Email is the recipient's normalized address; in export-only campaigns
	// a synthetic key ("export-0000001").
	Email          string
	FirstName      string
	LastName       string
	Fields         map[string]string
	SourceLine     int
	Code           string
	State          State
	FailedStage    Stage  // set when State is failed
	LastError      string // the last failure or retry reason
	CouponID       int64  // the store's id, once created
	IssuedAt       time.Time
	ExpiresAt      time.Time // zero when the coupon does not expire
	CreateAttempts int
	MailAttempts   int
	PlannedAt      time.Time
	CreatedAt      time.Time
	VerifiedAt     time.Time
	EmailedAt      time.Time
	UpdatedAt      time.Time
	// Reissues counts the coupons of the row that reissue replaced (see
	// Issuer.Reissue): each new code's email has a Message-ID of its own.
	Reissues int
}

// plannedIssue is a row to insert in state planned.
type plannedIssue struct {
	Email, FirstName, LastName string
	Fields                     map[string]string
	SourceLine                 int
	Code                       string
}

// ensureCampaign records the campaign, or checks that its fingerprint is the
// one it was first planned with. Callers that have the Campaign use
// ensureCampaignOf, which also keeps the settings to say what changed.
func (l *Ledger) ensureCampaign(ctx context.Context, name, fingerprint string, exportOnly bool) error {
	return l.recordCampaign(ctx, name, fingerprint, exportOnly, nil)
}

// maxCodeRetries bounds how many fresh codes one row may need because its
// code is already in the ledger; more means the code space is far too small.
const maxCodeRetries = 20

// planIssues inserts rows in state planned in one transaction. A recipient
// already in the campaign is skipped (the row keeps its code and state). A
// code already used by any row gets a fresh one from newCode. It returns the
// number of rows inserted.
func (l *Ledger) planIssues(ctx context.Context, campaign string, rows []plannedIssue, newCode func() (string, error)) (int, error) {
	return l.insertIssues(ctx, campaign, StatePlanned, rows, newCode)
}

// insertIssues is planIssues with the state of the new rows: planned, or
// staged while a list is being planned (see issueRun.plan).
func (l *Ledger) insertIssues(ctx context.Context, campaign string, state State, rows []plannedIssue, newCode func() (string, error)) (int, error) {
	inserted := 0
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		inserted = 0
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO issues
			(campaign, email, first_name, last_name, fields, source_line, code, code_key, state, planned_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (campaign, email) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := formatTime(l.now())
		for i := range rows {
			r := &rows[i]
			fields, err := encodeFields(r.Fields)
			if err != nil {
				return fmt.Errorf("line %d: %w", r.SourceLine, err)
			}
			for try := 0; ; try++ {
				res, err := stmt.ExecContext(ctx, campaign, r.Email, r.FirstName, r.LastName, fields, r.SourceLine,
					r.Code, CodeKey(r.Code), string(state), now, now)
				if isUniqueViolation(err, "issues.code_key") {
					if try >= maxCodeRetries {
						return fmt.Errorf("line %d: %d codes in a row were already taken: the code space is too small", r.SourceLine, try+1)
					}
					if r.Code, err = newCode(); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("line %d (%s): %w", r.SourceLine, r.Email, err)
				}
				n, _ := res.RowsAffected()
				inserted += int(n)
				break
			}
		}
		return nil
	})
	return inserted, err
}

func encodeFields(f map[string]string) (string, error) {
	if len(f) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(f)
	return string(b), err
}

const issueColumns = `id, campaign, email, first_name, last_name, fields, source_line, code, state, failed_stage, last_error,
	coupon_id, issued_at, expires_at, create_attempts, mail_attempts, planned_at, created_at, verified_at, emailed_at, updated_at, reissues`

type rowScanner interface{ Scan(dest ...any) error }

func scanIssue(s rowScanner) (Issue, error) {
	var (
		is                                              Issue
		fields, state, stage                            string
		couponID                                        sql.NullInt64
		issued, expires, planned, created, verified, em sql.NullString
		updated                                         sql.NullString
	)
	if err := s.Scan(&is.ID, &is.Campaign, &is.Email, &is.FirstName, &is.LastName, &fields, &is.SourceLine, &is.Code,
		&state, &stage, &is.LastError, &couponID, &issued, &expires, &is.CreateAttempts, &is.MailAttempts,
		&planned, &created, &verified, &em, &updated, &is.Reissues); err != nil {
		return Issue{}, err
	}
	is.State, is.FailedStage, is.CouponID = State(state), Stage(stage), couponID.Int64
	if fields != "" && fields != "{}" {
		if err := json.Unmarshal([]byte(fields), &is.Fields); err != nil {
			return Issue{}, fmt.Errorf("ledger row %d: fields: %w", is.ID, err)
		}
	}
	var err error
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&is.IssuedAt, issued}, {&is.ExpiresAt, expires}, {&is.PlannedAt, planned}, {&is.CreatedAt, created},
		{&is.VerifiedAt, verified}, {&is.EmailedAt, em}, {&is.UpdatedAt, updated}} {
		if *p.dst, err = parseTime(p.src); err != nil {
			return Issue{}, err
		}
	}
	return is, nil
}

// nextIssues returns up to limit rows of the campaign in state, with id
// greater than afterID, in id order.
func (l *Ledger) nextIssues(ctx context.Context, campaign string, state State, afterID int64, limit int) ([]Issue, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+issueColumns+` FROM issues
		WHERE campaign = ? AND state = ? AND id > ? ORDER BY id LIMIT ?`, campaign, string(state), afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Issue
	for rows.Next() {
		is, err := scanIssue(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, is)
	}
	return out, rows.Err()
}

// Issue returns the row of one recipient of a campaign; ok is false when
// there is none.
func (l *Ledger) Issue(ctx context.Context, campaign, email string) (is Issue, ok bool, err error) {
	is, err = scanIssue(l.db.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE campaign = ? AND email = ?`, campaign, email))
	if errors.Is(err, sql.ErrNoRows) {
		return Issue{}, false, nil
	}
	return is, err == nil, err
}

// countState returns how many rows of the campaign are in state.
func (l *Ledger) countState(ctx context.Context, campaign string, state State) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM issues WHERE campaign = ? AND state = ?`, campaign, string(state)).Scan(&n)
	return n, err
}

// transition moves one row from one state to another. The UPDATE carries
// "AND state = from", so a row that moved meanwhile (a stale worker, a
// concurrent run) is left alone and the transition reports it did not apply.
type transition struct {
	id       int64
	from, to State
	couponID int64     // to created
	code     string    // a new code, back to planned
	issued   time.Time // to creating: the issue instant...
	expires  time.Time // ...and the expiry built from it
	stage    Stage     // to failed
	reason   string    // to failed, unconfirmed, or a retry's reason
	released bool      // sending → verified: the attempt is taken back (see toReleased)
	at       time.Time // when it happened (emailed_at and friends); zero = now
	// then, if set, runs in the same transaction once the transition
	// applied: a write that belongs with it (tracking's pruned_at).
	then func(ctx context.Context, tx *sql.Tx, now string) error
}

// The transitions the pipeline makes. Each constructor fixes its from-state.

func toCreating(is Issue, issued, expires time.Time) transition {
	return transition{id: is.ID, from: StatePlanned, to: StateCreating, issued: issued, expires: expires}
}
func toCreated(id, couponID int64) transition {
	return transition{id: id, from: StateCreating, to: StateCreated, couponID: couponID}
}

// toRequeued puts a row whose coupon is known not to exist back to planned;
// newCode, when set, replaces a code taken by someone else.
func toRequeued(id int64, newCode, reason string) transition {
	return transition{id: id, from: StateCreating, to: StatePlanned, code: newCode, reason: reason}
}
func toVerified(id int64) transition {
	return transition{id: id, from: StateCreated, to: StateVerified}
}
func toExported(id int64) transition {
	return transition{id: id, from: StateCreated, to: StateExported}
}
func toSending(id int64) transition {
	return transition{id: id, from: StateVerified, to: StateSending}
}
func toEmailed(id int64, at time.Time) transition {
	return transition{id: id, from: StateSending, to: StateEmailed, at: at}
}

// toMailDeferred returns a row whose message was refused temporarily to
// verified, to be sent again later.
func toMailDeferred(id int64, reason string) transition {
	return transition{id: id, from: StateSending, to: StateVerified, reason: reason}
}
func toUnconfirmed(id int64, reason string) transition {
	return transition{id: id, from: StateSending, to: StateUnconfirmed, reason: reason}
}
func toFailed(id int64, from State, stage Stage, reason string) transition {
	return transition{id: id, from: from, to: StateFailed, stage: stage, reason: reason}
}

// errCodeTaken is returned by apply when a new code is already in the ledger.
var errCodeTaken = errors.New("code already in the ledger")

func (t transition) statement(now string) (string, []any, error) {
	set := []string{"state = ?", "updated_at = ?"}
	args := []any{string(t.to), now}
	at := now
	if !t.at.IsZero() {
		at = formatTime(t.at)
	}
	switch {
	case t.from == StatePlanned && t.to == StateCreating:
		set = append(set, "create_attempts = create_attempts + 1", "issued_at = ?", "expires_at = ?")
		args = append(args, nullTime(t.issued), nullTime(t.expires))
	case t.from == StateCreating && t.to == StateCreated:
		set = append(set, "coupon_id = ?", "created_at = ?", "last_error = ''")
		args = append(args, t.couponID, at)
	case t.from == StateCreating && t.to == StatePlanned:
		set = append(set, "last_error = ?")
		args = append(args, t.reason)
		if t.code != "" {
			set = append(set, "code = ?", "code_key = ?")
			args = append(args, t.code, CodeKey(t.code))
		}
	case t.from == StateCreated && (t.to == StateVerified || t.to == StateExported):
		set = append(set, "verified_at = ?")
		args = append(args, at)
	case t.from == StateVerified && t.to == StateCreated:
		set = append(set, "verified_at = NULL")
	case t.from == StateVerified && t.to == StateSending:
		set = append(set, "mail_attempts = mail_attempts + 1")
	case t.from == StateSending && t.to == StateEmailed:
		set = append(set, "emailed_at = ?", "last_error = ''")
		args = append(args, at)
	case t.from == StateSending && t.to == StateVerified && t.released:
		set = append(set, "mail_attempts = max(mail_attempts - 1, 0)", "last_error = ?")
		args = append(args, t.reason)
	case t.from == StateSending && (t.to == StateVerified || t.to == StateUnconfirmed):
		set = append(set, "last_error = ?")
		args = append(args, t.reason)
	case t.from == StateFailed && t.to != StateFailed:
		// A failed row taken back by a retry (see reopenSet).
		var err error
		if set, args, err = t.reopenSet(set, args, at); err != nil {
			return "", nil, err
		}
	case t.to == StatePruned && t.from != StatePruned && t.from != StatePlanned && t.from != StateCreating:
		// The row keeps its history; then records when (see toPruned).
	case t.from == StateUnconfirmed && t.to == StateEmailed:
		set = append(set, "emailed_at = COALESCE(emailed_at, ?)")
		args = append(args, at)
	case t.to == StateFailed && t.from != StateFailed:
		if t.stage == "" || t.reason == "" {
			return "", nil, fmt.Errorf("ledger: failing row %d needs a stage and a reason", t.id)
		}
		set = append(set, "failed_stage = ?", "last_error = ?")
		args = append(args, string(t.stage), t.reason)
	default:
		return "", nil, fmt.Errorf("ledger: no transition from %s to %s", t.from, t.to)
	}
	args = append(args, t.id, string(t.from))
	return "UPDATE issues SET " + strings.Join(set, ", ") + " WHERE id = ? AND state = ?", args, nil
}

// precedesEffect reports whether the transition is written before an
// effect outside (a request to the store, a message to the mail server):
// such a commit must be durable before the effect happens.
func (t transition) precedesEffect() bool {
	return t.to == StateCreating || t.to == StateSending
}

// apply makes the transitions in one transaction and reports, for each,
// whether it applied (false: the row was no longer in the from-state). A new
// code that is already taken fails the whole call with errCodeTaken.
// Transitions that precede an effect commit durably (see OpenLedger).
func (l *Ledger) apply(ctx context.Context, ts ...transition) ([]bool, error) {
	applied := make([]bool, len(ts))
	if len(ts) == 0 {
		return applied, nil
	}
	db := l.relaxed
	for _, t := range ts {
		if t.precedesEffect() {
			db = l.db
		}
	}
	err := l.inTxOn(ctx, db, func(tx *sql.Tx) error {
		now := formatTime(l.now())
		// A batch repeats a few statement shapes: prepare each once.
		stmts := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		for i, t := range ts {
			q, args, err := t.statement(now)
			if err != nil {
				return err
			}
			st, ok := stmts[q]
			if !ok {
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				stmts[q] = st
			}
			res, err := st.ExecContext(ctx, args...)
			if isUniqueViolation(err, "issues.code_key") {
				return fmt.Errorf("%w: %s", errCodeTaken, t.code)
			}
			if err != nil {
				return fmt.Errorf("ledger row %d %s→%s: %w", t.id, t.from, t.to, err)
			}
			n, _ := res.RowsAffected()
			applied[i] = n == 1
			if applied[i] && t.then != nil {
				if err := t.then(ctx, tx, now); err != nil {
					return fmt.Errorf("ledger row %d %s→%s: %w", t.id, t.from, t.to, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, ok := range applied {
		if !ok {
			l.logger.Warn("ledger row was not in the expected state; left as it is",
				"id", ts[i].id, "from", ts[i].from, "to", ts[i].to)
		}
	}
	return applied, nil
}
