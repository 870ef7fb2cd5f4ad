package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// CouponFinder looks a coupon up by code; *woo.CouponsService satisfies it.
type CouponFinder interface {
	GetByCode(ctx context.Context, code string) (*woo.Coupon, error)
}

// ErrResendRefused is matched by the errors of Resend that --force would
// override: the code was redeemed or has expired.
var ErrResendRefused = errors.New("resend refused")

// ErrResendUnconfirmed is matched by the error of a resend handed over to
// the mail server whose answer was lost (mailer.OutcomeUnknown): it may or
// may not have been delivered.
var ErrResendUnconfirmed = errors.New("resend unconfirmed")

// ErrNoRecipient is returned when a campaign has no row for an address.
var ErrNoRecipient = errors.New("no such recipient in the campaign")

// ErrNothingToResend is matched by the errors of Resend that no flag
// overrides: the row has no email to repeat (never emailed, failed, pruned,
// export-only) or its coupon is no longer the one in the store.
var ErrNothingToResend = errors.New("nothing to resend")

// Resender sends a recipient the email of their code again: the same code
// (no new coupon is created) and the same content, as a new message with a
// Message-ID of its own that refers to the first (In-Reply-To, References):
// mail systems drop a message whose Message-ID they have already seen, and
// thread this one with the first. Every resend is recorded in the ledger.
type Resender struct {
	Ledger *Ledger
	// Coupons reads the coupon's live state before sending.
	Coupons CouponFinder
	Mail    MailSender
	// Location is the store's time zone (expiry dates in the email); default UTC.
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time
}

// ResendOptions control one resend.
type ResendOptions struct {
	// Force sends even when the code was redeemed or has expired.
	Force bool
}

// ResendResult says what was sent.
type ResendResult struct {
	Campaign  string
	Email     string
	Code      string
	MessageID string
	// Forced is true when Force overrode a refusal; Overridden says which.
	Forced     bool
	Overridden string
}

func (r *Resender) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Resend emails the code of email in campaign c again.
//
// It refuses, with an error matching ErrNothingToResend, a row whose coupon
// was never emailed (an issue run sends it), that failed, or whose coupon is
// no longer in the store (pruned, deleted, or replaced by someone else's
// coupon with the same code: reissue gives a new code). A code that is
// redeemed (usage_count ≥ 1 in the store now) or expired is refused with an
// error matching ErrResendRefused unless opts.Force. An unconfirmed row (the
// first email may or may not have gone) becomes emailed once the resend is
// accepted.
func (r *Resender) Resend(ctx context.Context, c Campaign, email string, opts ResendOptions) (ResendResult, error) {
	res := ResendResult{Campaign: c.Name}
	if r.Ledger == nil || r.Coupons == nil || r.Mail == nil {
		return res, errors.New("resend: ledger, coupons and mail are required")
	}
	if c.ExportOnly {
		return res, fmt.Errorf("%w: campaign %q is export-only: its codes are not emailed", ErrNothingToResend, c.Name)
	}
	if c.Mail.Templates == nil {
		return res, fmt.Errorf("campaign %q: no email templates", c.Name)
	}
	addr, err := NormalizeEmail(email)
	if err != nil {
		return res, fmt.Errorf("resend: %w", err)
	}
	res.Email = addr
	ti, ok, err := r.Ledger.Tracked(ctx, c.Name, addr)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("%w: %s in campaign %q", ErrNoRecipient, addr, c.Name)
	}
	res.Code = ti.Code
	switch ti.State {
	case StateEmailed, StateUnconfirmed:
	case StatePruned:
		return res, fmt.Errorf("%w: %s's coupon %s expired and was pruned from the store; 'couponbridge reissue --campaign %s --email %s' gives them a new code", ErrNothingToResend, addr, ti.Code, c.Name, addr)
	case StateFailed:
		return res, fmt.Errorf("%w: %s's row failed at %s (%s): there is no email to send again; fix the cause, then finish the row with 'couponbridge retry --campaign %s --email %s'",
			ErrNothingToResend, addr, ti.FailedStage, ti.LastError, c.Name, addr)
	default:
		return res, fmt.Errorf("%w: %s's code was never emailed (state %s): run issue to finish the campaign", ErrNothingToResend, addr, ti.State)
	}
	live, err := r.Coupons.GetByCode(ctx, ti.Code)
	switch {
	case woo.IsNotFound(err):
		return res, fmt.Errorf("%w: coupon %s of %s is no longer in the store (deleted); 'couponbridge reissue --campaign %s --email %s' gives them a new code", ErrNothingToResend, ti.Code, addr, c.Name, addr)
	case err != nil:
		return res, fmt.Errorf("reading coupon %s from the store: %w", ti.Code, err)
	case live.ID != ti.CouponID:
		return res, fmt.Errorf("%w: the store's coupon %s is %d, not the one issued (%d): it was replaced", ErrNothingToResend, ti.Code, live.ID, ti.CouponID)
	}
	var refusals []string
	if live.UsageCount > 0 {
		refusals = append(refusals, fmt.Sprintf("redeemed (usage_count %d)", live.UsageCount))
	}
	now := r.now()
	if live.DateExpiresGMT != nil && !live.DateExpiresGMT.IsZero() && !live.DateExpiresGMT.After(now) {
		refusals = append(refusals, "expired on "+live.DateExpiresGMT.UTC().Format(time.RFC3339))
	}
	if len(refusals) > 0 {
		why := strings.Join(refusals, " and ")
		if !opts.Force {
			return res, fmt.Errorf("%w: code %s of %s is %s (use --force to send it anyway)", ErrResendRefused, ti.Code, addr, why)
		}
		res.Forced, res.Overridden = true, why
	}
	msg, err := ComposeEmail(c, ti.Issue, r.Location, now)
	if err != nil {
		return res, fmt.Errorf("composing the email of %s: %w", addr, err)
	}
	asResend(&msg, c.Mail.messageIDDomain())
	res.MessageID = msg.MessageID
	rid, err := r.Ledger.startResend(ctx, ti.ID, opts.Force, msg.MessageID)
	if err != nil {
		return res, err
	}
	result, err := sendOne(ctx, r.Mail, msg)
	pctx, cancel := persistCtx(ctx)
	defer cancel()
	if err != nil {
		_ = r.Ledger.finishResend(pctx, rid, "failed", err.Error())
		return res, err
	}
	if result.Status == mailer.OutcomeUnknown {
		// Handed over, no answer: not a failure, and not to be sent again
		// blindly. The resend stays "sending" (in doubt) in the ledger.
		return res, fmt.Errorf("%w: the mail server got the whole resend to %s but its answer never came (%s): "+
			"it may or may not have been delivered; ask the recipient before resending again", ErrResendUnconfirmed, addr, mailReply(result))
	}
	if result.Status != mailer.Delivered {
		reply := mailReply(result)
		if ferr := r.Ledger.finishResend(pctx, rid, "failed", reply); ferr != nil {
			return res, ferr
		}
		return res, fmt.Errorf("the mail server did not accept the resend to %s (%s): %s", addr, result.Status, reply)
	}
	if err := r.Ledger.finishResend(pctx, rid, "sent", mailReply(result)); err != nil {
		return res, err
	}
	if ti.State == StateUnconfirmed {
		if err := r.Ledger.confirmByResend(pctx, ti.ID, now); err != nil {
			return res, err
		}
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.Info("code resent", "campaign", c.Name, "email", addr, "forced", res.Forced, "message_id", res.MessageID)
	return res, nil
}

// asResend makes msg, the email as first sent, a new message that refers
// to it: a Message-ID of its own, In-Reply-To the first, and the first
// added to its References.
func asResend(msg *mailer.Message, domain string) {
	first := msg.MessageID
	msg.MessageID = mailer.NewMessageID(domain)
	msg.InReplyTo = first
	msg.References = append(slices.Clip(msg.References), first)
}

// sendOne sends one message and returns its result.
func sendOne(ctx context.Context, m MailSender, msg mailer.Message) (mailer.Result, error) {
	var got *mailer.Result
	err := m.Send(ctx, []mailer.Message{msg}, func(r mailer.Result) { got = &r })
	if got == nil {
		if err == nil {
			err = errors.New("the mail sender reported no result")
		}
		return mailer.Result{}, err
	}
	return *got, nil
}

func mailReply(r mailer.Result) string {
	reply := strings.TrimSpace(r.Reply)
	if reply == "" && r.Err != nil {
		reply = r.Err.Error()
	}
	return reply
}
