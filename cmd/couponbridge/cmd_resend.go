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
		Summary: "Email a recipient's code again (the same code, the same message)",
		Usage: `couponbridge resend --campaign NAME --email ADDRESS [--force]

Sends the recipient the email of their code again: no new coupon is
created, and the message is the same, with the same Message-ID, so that it
is recognisable as the same email. The coupon is read from the store first:
a redeemed or expired code is refused unless --force; a coupon that is no
longer in the store (pruned or deleted) is always refused. Every resend is
recorded in the ledger (see 'couponbridge lookup CODE'). A refusal exits
with 2: nothing was sent.

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
			case errors.Is(err, campaign.ErrResendRefused), errors.Is(err, campaign.ErrNoRecipient):
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
