package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// lookupOptions are the flags of lookup.
type lookupOptions struct {
	Format string
}

// AddFlags registers the flags of lookup.
func (o *lookupOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Format, "format", "table", "output `FORMAT`: table or json")
}

// lookupCommand tells whose a code is and how it stands in the store.
func lookupCommand() *command {
	var o lookupOptions
	return &command{
		Name:    "lookup",
		Summary: "Show which campaign and recipient a code belongs to, and its live state in the store",
		Usage: `couponbridge lookup CODE [--format table|json]

Finds the code in the ledger (letter case does not matter, as in
WooCommerce): its campaign, recipient, state, when it was issued, emailed,
redeemed, reminded and resent. Then reads the coupon from the store: usage,
expiry, email restriction and whether its meta tags say couponbridge created
it for that recipient. A code that 'couponbridge reissue' replaced is found
too, with the code that replaced it. Exits with 1 when the code is in
neither.

Example:
  couponbridge lookup WELCOME-7KQ2-M9XD`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if o.Format != "table" && o.Format != "json" {
				return usageErrorf("--format must be table or json, got %q", o.Format)
			}
			if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
				return usageErrorf("lookup takes exactly one code")
			}
			d, err := openTracking(ctx, env)
			if err != nil {
				return err
			}
			defer d.Close()
			res, err := campaign.LookupCode(ctx, d.ledger, d.client.Coupons, args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			if o.Format == "json" {
				err = writeLookupJSON(env.Stdout, res, now)
			} else {
				err = writeLookupTable(env.Stdout, res, now, d.cfg.Store.Location())
			}
			if err != nil {
				return err
			}
			if !res.InLedger && !res.InStore {
				return fmt.Errorf("code %s is neither in the ledger nor in the store", res.Code)
			}
			return nil
		},
	}
}

func trackTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(campaign.HumanTimeLayout)
}

func writeLookupTable(w io.Writer, r campaign.CodeLookup, now time.Time, loc *time.Location) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("code", r.Code)
	if rc := r.Replaced; rc != nil {
		writeReplacedRows(row, r, loc)
	} else if r.InLedger {
		t := r.Row
		row("campaign", t.Campaign)
		row("recipient", t.Email)
		row("state", string(t.State))
		row("coupon id", fmt.Sprint(t.CouponID))
		row("issued", trackTime(t.CreatedAt, loc))
		row("emailed", trackTime(t.EmailedAt, loc))
		row("expires", trackTime(t.ExpiryNow(), loc))
		row("redeemed", trackTime(t.RedeemedAt, loc))
		if t.UseReturned {
			row("use returned", trackTime(t.UseReturnedAt, loc))
		}
		if t.Changes != "" {
			row("changed in store", t.Changes)
		}
		if t.ReminderState != "" {
			row("reminder", t.ReminderState+" "+trackTime(t.RemindedAt, loc))
		}
		for _, rs := range r.Resends {
			forced := ""
			if rs.Forced {
				forced = " (forced)"
			}
			row("resent", trackTime(rs.CreatedAt, loc)+" "+rs.State+forced)
		}
		row("last sync", trackTime(t.SyncedAt, loc))
	} else {
		row("ledger", "not issued by any campaign of this ledger")
	}
	if r.InStore {
		c := r.Store
		row("store", r.StoreState(now))
		row("store coupon id", fmt.Sprint(c.ID))
		row("usage count", fmt.Sprint(c.UsageCount))
		if len(c.UsedBy) > 0 {
			row("used by", strings.Join(c.UsedBy, ", "))
		}
		if c.DateExpiresGMT != nil {
			row("store expiry", trackTime(c.DateExpiresGMT.Time, loc))
		}
		row("email restriction", strings.Join(c.EmailRestrictions, ", "))
		row("meta", fmt.Sprintf("%s=%q %s=%q", campaign.MetaCampaign, r.StoreCampaign, campaign.MetaRecipient, r.StoreRecipient))
		if r.InLedger {
			row("created by couponbridge for this row", fmt.Sprint(r.Ours))
		}
	} else {
		row("store", "missing: no published coupon with this code")
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// lookupJSON is the JSON form of lookup; its field names are part of the
// command's interface.
type lookupJSON struct {
	Code      string           `json:"code"`
	InLedger  bool             `json:"in_ledger"`
	Ledger    *lookupLedger    `json:"ledger,omitempty"`
	InStore   bool             `json:"in_store"`
	Store     *lookupStoreJSON `json:"store,omitempty"`
	CreatedBy bool             `json:"created_by_couponbridge"`
	// Replaced is set instead of Ledger for a code a reissue replaced.
	Replaced *lookupReplaced `json:"replaced,omitempty"`
}

type lookupLedger struct {
	Campaign      string    `json:"campaign"`
	Recipient     string    `json:"recipient"`
	State         string    `json:"state"`
	CouponID      int64     `json:"coupon_id"`
	IssuedAt      time.Time `json:"issued_at,omitzero"`
	EmailedAt     time.Time `json:"emailed_at,omitzero"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	RedeemedAt    time.Time `json:"redeemed_at,omitzero"`
	UseReturned   bool      `json:"use_returned"`
	Changes       string    `json:"changes_in_store,omitempty"`
	DeletedStore  bool      `json:"deleted_in_store"`
	ReminderState string    `json:"reminder_state,omitempty"`
	Resends       int       `json:"resends"`
	LastSync      time.Time `json:"last_sync,omitzero"`
}

type lookupStoreJSON struct {
	State             string    `json:"state"`
	ID                int64     `json:"id"`
	UsageCount        int       `json:"usage_count"`
	UsedBy            []string  `json:"used_by"`
	ExpiresAt         time.Time `json:"expires_at,omitzero"`
	EmailRestrictions []string  `json:"email_restrictions"`
	MetaCampaign      string    `json:"meta_campaign"`
	MetaRecipient     string    `json:"meta_recipient"`
}

func writeLookupJSON(w io.Writer, r campaign.CodeLookup, now time.Time) error {
	j := lookupJSON{Code: r.Code, InLedger: r.InLedger, InStore: r.InStore, CreatedBy: r.Ours}
	if rc := r.Replaced; rc != nil {
		j.Replaced = replacedJSON(r)
	} else if r.InLedger {
		t := r.Row
		j.Ledger = &lookupLedger{Campaign: t.Campaign, Recipient: t.Email, State: string(t.State), CouponID: t.CouponID,
			IssuedAt: t.CreatedAt.UTC(), EmailedAt: t.EmailedAt.UTC(), ExpiresAt: t.ExpiryNow().UTC(), RedeemedAt: t.RedeemedAt.UTC(),
			UseReturned: t.UseReturned, Changes: t.Changes, DeletedStore: t.Deleted, ReminderState: t.ReminderState,
			Resends: len(r.Resends), LastSync: t.SyncedAt.UTC()}
	}
	if r.InStore {
		c := r.Store
		s := &lookupStoreJSON{State: r.StoreState(now), ID: c.ID, UsageCount: c.UsageCount, UsedBy: c.UsedBy,
			EmailRestrictions: c.EmailRestrictions, MetaCampaign: r.StoreCampaign, MetaRecipient: r.StoreRecipient}
		if s.UsedBy == nil {
			s.UsedBy = []string{}
		}
		if s.EmailRestrictions == nil {
			s.EmailRestrictions = []string{}
		}
		if c.DateExpiresGMT != nil {
			s.ExpiresAt = c.DateExpiresGMT.UTC()
		}
		j.Store = s
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
