package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// resendOptions are the flags of resend.
type resendOptions struct {
	Campaign string
	Email    string
	Force    bool
}

// AddFlags registers the flags of resend.
func (o *resendOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Campaign, "campaign", "", "campaign `NAME` (required)")
	fs.StringVar(&o.Email, "email", "", "recipient `ADDRESS` (required)")
	fs.BoolVar(&o.Force, "force", false, "send even when the code was redeemed or has expired")
}

// resendCommand emails a recipient's code again.
func resendCommand() *command {
	var o resendOptions
	return &command{
		Name:    "resend",
		Summary: "Email a recipient's code again (the same code, as a new message)",
		Usage: `couponbridge resend --campaign NAME --email ADDRESS [--force]

Sends the recipient the email of their code again: no new coupon is
created and the content is the same, but it is a new message, with a
Message-ID of its own that refers to the first (In-Reply-To, References):
mail systems drop a message whose Message-ID they have already seen, and
show this one in the thread of the first. In outbox mode it is a new file
beside the first. The coupon is read from the store first: a redeemed or
expired code is refused unless --force; a coupon that is no longer in the
store (pruned or deleted) is always refused ('couponbridge reissue' gives
the recipient a new code). Every resend is recorded in the ledger (see
'couponbridge lookup CODE').

Exit codes:
  0  sent: the mail server (or the outbox) accepted the resend
  1  not sent: the store or the mail server could not be reached, or the
     mail server refused the message; or the mail server took the whole
     message but its answer was lost: it may have been delivered (the
     resend stays "sending" in the ledger; ask the recipient before
     resending again)
  2  refused, nothing sent: a missing flag, an unknown recipient, a code
     redeemed or expired (without --force), a code never emailed, a failed
     row, or a coupon no longer in the store

Example:
  couponbridge resend --campaign welcome-2026 --email ann@example.com`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("resend takes no arguments, got %q (use --campaign and --email)", args[0])
			}
			if o.Campaign == "" || o.Email == "" {
				return usageErrorf("--campaign NAME and --email ADDRESS are required")
			}
			d, err := openTrackingUsing(ctx, env, 0, useStore|useSMTPPassword)
			if err != nil {
				return err
			}
			defer d.Close()
			camp, err := d.cfg.campaign(o.Campaign, 0)
			if err != nil {
				return err
			}
			sender, err := d.cfg.Mail.newLedgerSender(ctx, d.ledger, env.Logger)
			if err != nil {
				return err
			}
			defer sender.Close()
			r := &campaign.Resender{Ledger: d.ledger, Coupons: d.client.Coupons, Mail: sender,
				Location: d.cfg.Store.Location(), Logger: env.Logger}
			res, err := r.Resend(ctx, camp, o.Email, campaign.ResendOptions{Force: o.Force})
			switch {
			case errors.Is(err, campaign.ErrResendRefused), errors.Is(err, campaign.ErrNoRecipient),
				errors.Is(err, campaign.ErrNothingToResend):
				return usageErrorf("%v", err)
			case err != nil:
				return err
			}
			forced := ""
			if res.Forced {
				forced = " (forced: " + res.Overridden + ")"
			}
			_, err = fmt.Fprintf(env.Stdout, "Resent code %s to %s, campaign %s, Message-ID %s%s.\n", res.Code, res.Email, res.Campaign, res.MessageID, forced)
			return err
		},
	}
}
