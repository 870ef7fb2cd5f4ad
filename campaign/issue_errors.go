package campaign

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// BlockedError is the outcome of a run that ended with rows still to do
// because the store or the mail server could not be reached, or kept
// refusing: not a success, whatever was done. Its message is the cause,
// such as "store unreachable: dial tcp 127.0.0.1:8443: connect:
// connection refused".
type BlockedError struct {
	// Stage is the first stage with rows left and an error this run.
	Stage Stage
	// Left counts the campaign's rows still to do (Summary.Pending).
	Left int
	// Err is the stage's last error.
	Err error
}

func (e *BlockedError) Error() string { return e.Err.Error() }
func (e *BlockedError) Unwrap() error { return e.Err }

// stageErrorEvery bounds how often an unchanged stage error is written to
// the ledger: a store that is down fails every request the same way.
const stageErrorEvery = 10 * time.Second

// stageNote is the last error of a stage in this run.
type stageNote struct {
	err     error
	written time.Time // when its text was last written to the ledger
}

// noteError records err as the last error of stage, for this run's exit
// (see BlockedError) and in the ledger for status. Errors of a cancelled
// run are not noted: they say nothing about the store or the mail server.
// It is safe for concurrent use.
func (r *issueRun) noteError(stage Stage, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	err = stageCause(stage, err)
	now := time.Now()
	r.mu.Lock()
	if r.stageErrs == nil {
		r.stageErrs = map[Stage]*stageNote{}
	}
	prev := r.stageErrs[stage]
	write := prev == nil || prev.err.Error() != err.Error() || now.Sub(prev.written) >= stageErrorEvery
	n := &stageNote{err: err, written: now}
	if !write {
		n.written = prev.written
	}
	r.stageErrs[stage] = n
	r.mu.Unlock()
	if !write {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if werr := r.ledger.noteStageError(ctx, r.c.Name, stage, errString(err), r.opts.Now()); werr != nil {
		r.log.Warn("recording the stage's last error in the ledger failed", "stage", stage, "error", werr)
	}
}

// stageCause names the side that failed: "store unreachable: dial tcp …"
// when the network error is all there is to say, else the side and err.
func stageCause(stage Stage, err error) error {
	side := "store"
	if stage == StageEmail {
		side = "mail server"
	}
	if strings.HasPrefix(err.Error(), side+" ") {
		return err
	}
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &op):
		return &causeError{msg: side + " unreachable: " + op.Error(), err: err}
	case errors.As(err, &dns):
		return &causeError{msg: side + " unreachable: " + dns.Error(), err: err}
	case woo.IsUnreachable(err): // a TLS handshake that failed, and the like
		return fmt.Errorf("%s unreachable: %w", side, err)
	}
	var api *woo.APIError
	if errors.As(err, &api) {
		// The answer in a line: status, route and the store's words; the
		// full request (query, quoted body) stays in the log.
		path := api.URL
		if u, perr := url.Parse(api.URL); perr == nil {
			path = u.Path
		}
		msg := fmt.Sprintf("%s answered %d %s to %s %s", side, api.StatusCode, http.StatusText(api.StatusCode), api.Method, path)
		if api.Code != "" {
			msg += ": " + api.Code
		}
		if api.Message != "" && api.Message != http.StatusText(api.StatusCode) {
			msg += ": " + api.Message
		}
		return &causeError{msg: msg, err: err}
	}
	return fmt.Errorf("%s: %w", side, err)
}

// causeError says what a stage met in the owner's words (the network error
// alone, without the request around it) and still unwraps to the whole
// error, so errors.Is finds woo.ErrUnreachable and the syscall error.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// isNetError reports whether err comes from the network: the other side
// could not be reached, or the connection broke.
func isNetError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

// stageLeft maps each stage to the states of the rows it still has to do.
var stageLeft = []struct {
	stage  Stage
	states []State
}{
	{StageCreate, []State{StatePlanned, StateCreating}},
	{StageVerify, []State{StateCreated}},
	{StageEmail, []State{StateVerified}},
}

// settleStageErrors decides, from where the campaign stands after the run,
// whether the run was blocked: rows left in a stage that met an error this
// run. The ledger's last error of a stage with nothing left is cleared:
// that stage has since succeeded.
func (r *issueRun) settleStageErrors(ctx context.Context, sum Summary) *BlockedError {
	var blocked *BlockedError
	for _, s := range stageLeft {
		left := 0
		for _, st := range s.states {
			left += sum.Count(st)
		}
		if left == 0 {
			if err := r.ledger.clearStageError(ctx, r.c.Name, s.stage); err != nil {
				r.log.Warn("clearing the stage's last error in the ledger failed", "stage", s.stage, "error", err)
			}
			continue
		}
		r.mu.Lock()
		n := r.stageErrs[s.stage]
		r.mu.Unlock()
		if n != nil && blocked == nil {
			blocked = &BlockedError{Stage: s.stage, Left: sum.Pending(), Err: n.err}
		}
	}
	return blocked
}

// errStoreFailing stops the create stage when the store has answered this
// run with nothing but errors (an error page on every request): passes and
// holds would only wait minutes for the same answer. The rows stay where
// they are, to be settled and sent by the next run.
var errStoreFailing = errors.New("the store has answered nothing but errors this run")

// notingStore passes calls to the store and notes what failed as the
// create or verify stage's last error.
type notingStore struct {
	CouponStore
	r *issueRun
}

func (s notingStore) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	res, err := s.CouponStore.Batch(ctx, b)
	if err != nil {
		s.r.noteError(StageCreate, err)
		return res, err
	}
	if res != nil {
		noted := false
		for _, it := range res.Create {
			var ie *woo.ItemError
			if it.Err == nil || errors.As(it.Err, &ie) {
				// The store answered for this item (a result of its own,
				// not a request that failed as a whole).
				s.r.storeAnswered.Store(true)
			}
			if it.Err != nil && !woo.IsCodeExists(it.Err) && !noted {
				s.r.noteError(StageCreate, it.Err)
				noted = true
			}
		}
	}
	return res, nil
}

func (s notingStore) GetByCode(ctx context.Context, code string) (*woo.Coupon, error) {
	c, err := s.CouponStore.GetByCode(ctx, code)
	if err != nil && !woo.IsNotFound(err) {
		s.r.noteError(StageCreate, err)
	} else {
		s.r.storeAnswered.Store(true)
	}
	return c, err
}

func (s notingStore) FindCodes(ctx context.Context, codes []string, opts *woo.FindCodesOptions) (map[string][]woo.Coupon, error) {
	found, err := s.CouponStore.FindCodes(ctx, codes, opts)
	if err != nil {
		s.r.noteError(StageCreate, err)
	} else {
		s.r.storeAnswered.Store(true)
	}
	return found, err
}

func (s notingStore) List(ctx context.Context, opts *woo.CouponListOptions) ([]woo.Coupon, *woo.Response, error) {
	cs, resp, err := s.CouponStore.List(ctx, opts)
	if err != nil {
		s.r.noteError(StageVerify, err)
	} else {
		s.r.storeAnswered.Store(true)
	}
	return cs, resp, err
}

// logFinished logs what the run did and where the campaign stands, in one
// line: at WARN when something is left to do or to review.
func (r *issueRun) logFinished(res RunResult, err error) {
	t := res.ThisRun
	args := []any{"planned", t.Planned, "created", t.Created, "adopted", t.Adopted, "recoded", t.Recoded,
		"requeued", t.Requeued, "verified", t.Verified, "emailed", t.Emailed, "deferred", t.Deferred,
		"capped", t.Capped, "unconfirmed", t.Unconfirmed, "failed", t.Failed, "rejected", t.Rejected,
		"campaign_pending", res.Pending(), "campaign_unconfirmed", res.Count(StateUnconfirmed),
		"campaign_failed", res.Failed()}
	switch {
	case err != nil:
		r.log.Warn("issue run stopped", append(args, "error", err)...)
	case res.Blocked != nil:
		r.log.Warn("issue run finished with rows left", append(args, "cause", res.Blocked.Err)...)
	case res.Pending() > 0 || res.NeedsReview():
		r.log.Warn("issue run finished; rows left or to review", args...)
	default:
		r.log.Info("issue run finished", args...)
	}
}
