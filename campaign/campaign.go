package campaign

import (
	"errors"
	"fmt"
	"strings"

	"github.com/couponbridge/couponbridge/mailer"
)

// Campaign is one issuing campaign: who gets what kind of coupon, and how
// they are told. Its Name is its identity in the ledger: running the same
// campaign over the same list again issues nothing new.
type Campaign struct {
	// Name identifies the campaign in the ledger and in the coupons' meta
	// (_couponbridge_campaign).
	Name string
	// Codes is the shape of the codes.
	Codes CodeSpec
	// Coupon is what every coupon of the campaign looks like.
	Coupon CouponTemplate
	// ExportOnly campaigns create coupons without an email restriction
	// (still usage limit 1) and email nobody: the codes are exported and
	// handed out by the owner.
	ExportOnly bool
	// Count is the number of codes of an export-only campaign. Raising it
	// and running again creates the difference; lowering it removes nothing.
	Count int
	// Mail says how the codes are emailed; ignored for export-only campaigns.
	Mail MailSpec
}

// MailSpec is how a campaign's emails are composed.
type MailSpec struct {
	From    mailer.Address
	ReplyTo mailer.Address // zero: no Reply-To header
	// Templates renders subject and bodies; required unless export-only.
	Templates *mailer.Templates
	StoreName string
	StoreURL  string
	// Currency is the store's ISO 4217 currency, for fixed amounts.
	Currency string
	// ApplyURLPattern builds a link that applies the code, such as
	// "https://shop.example/?coupon={code}"; empty means none.
	ApplyURLPattern string
	// ExpiryLayout is the time.Format layout of the expiry date in emails;
	// empty means mailer.DefaultExpiryLayout.
	ExpiryLayout string
	// MessageIDDomain is the right-hand side of the Message-IDs; empty means
	// the From address's domain.
	MessageIDDomain string
	// Unsubscribe holds the List-Unsubscribe URLs (mailto:, https:).
	Unsubscribe []string
	// OneClick adds RFC 8058 one-click unsubscription (needs an https URL).
	OneClick bool
	// UnsubscribeLink returns the recipient's own unsubscribe URL (nil
	// or "" for none): it is shown in the footer (mailer.Data.UnsubscribeURL)
	// and put first in List-Unsubscribe, with one-click when it is https.
	UnsubscribeLink func(campaign, email string) string
	// ShopAddress is the shop's postal address, shown in the footer.
	ShopAddress string
	// BrandColor ("#rrggbb") and LogoURL dress the built-in templates;
	// empty means the neutral default and the shop's name.
	BrandColor, LogoURL string
	// ProductNames and CategoryNames name the coupon's product and
	// category restrictions in the email (read from the store); an id
	// missing here is shown as "#ID".
	ProductNames, CategoryNames map[int64]string
}

// maxCampaignName bounds a campaign name: it is stored in every coupon's meta.
const maxCampaignName = 100

// Validate checks the campaign before anything is planned.
func (c Campaign) Validate() error {
	var errs []error
	name := strings.TrimSpace(c.Name)
	switch {
	case name == "":
		errs = append(errs, errors.New("campaign: name is empty"))
	case name != c.Name || len(name) > maxCampaignName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		errs = append(errs, fmt.Errorf("campaign %q: name must be 1..%d printable characters without surrounding spaces", c.Name, maxCampaignName))
	}
	if err := c.Codes.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("campaign %q: codes: %w", c.Name, err))
	}
	if err := c.Coupon.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("campaign %q: coupon: %w", c.Name, err))
	}
	if c.ExportOnly {
		if c.Count <= 0 {
			errs = append(errs, fmt.Errorf("campaign %q: export-only needs a count of codes > 0", c.Name))
		}
	} else {
		if c.Count != 0 {
			errs = append(errs, fmt.Errorf("campaign %q: count is only for export-only campaigns (recipients come from the list)", c.Name))
		}
		if c.Mail.Templates == nil {
			errs = append(errs, fmt.Errorf("campaign %q: mail templates are missing", c.Name))
		}
		if c.Mail.From.Email == "" {
			errs = append(errs, fmt.Errorf("campaign %q: mail from address is missing", c.Name))
		}
	}
	return errors.Join(errs...)
}

// fingerprint identifies the settings that shape a coupon. The ledger keeps
// the first one seen per campaign and refuses a rerun with another: rows
// already created are verified against the template they were created with.
func (c Campaign) fingerprint() (string, error) {
	b, err := c.settingsJSON()
	if err != nil {
		return "", err
	}
	return fingerprintOf(b), nil
}

// messageIDDomain returns the domain for Message-IDs.
func (m MailSpec) messageIDDomain() string {
	if m.MessageIDDomain != "" {
		return m.MessageIDDomain
	}
	if _, dom, ok := strings.Cut(m.From.Email, "@"); ok {
		return dom
	}
	return ""
}
