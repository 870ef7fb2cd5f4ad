package campaign

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// ComposeEmail builds the email that carries row's code, exactly as the
// issuing pipeline sends it: resend, reminders and preview use it too, so
// that what the owner previews and resends is what recipients get. The
// Message-ID depends only on the campaign, the recipient and how many times
// the row was reissued (a reissued code's email refers to the first: see
// reissueThread); a resend gives its copy a new one (see asResend).
//
// Amounts and dates are written in the templates' locale, the expiry in the
// store's time zone loc; the coupon's conditions (see emailConditions) come
// from the campaign's coupon, so the email says what the store will check.
func ComposeEmail(c Campaign, row Issue, loc *time.Location, now time.Time) (mailer.Message, error) {
	if loc == nil {
		loc = time.UTC
	}
	m := c.Mail
	if m.Templates == nil {
		return mailer.Message{}, fmt.Errorf("campaign %s has no email templates", c.Name)
	}
	locale := m.Templates.Locale()
	d := mailer.Data{
		FirstName:   row.FirstName,
		LastName:    row.LastName,
		Email:       row.Email,
		Code:        row.Code,
		Amount:      mailer.FormatAmountIn(locale, c.Coupon.DiscountType, c.Coupon.Amount, m.Currency),
		ExpiresAt:   row.ExpiresAt,
		Expires:     mailer.FormatExpiryIn(locale, row.ExpiresAt, loc, m.ExpiryLayout),
		StoreName:   m.StoreName,
		StoreURL:    m.StoreURL,
		ShopAddress: m.ShopAddress,
		BrandColor:  m.BrandColor,
		LogoURL:     m.LogoURL,
		Fields:      row.Fields,
	}
	if d.Fields == nil {
		d.Fields = map[string]string{}
	}
	d.Conditions = emailConditions(c, row, locale, loc)
	d.ApplyURL = mailer.ApplyURL(m.ApplyURLPattern, d)
	unsubscribe, oneClick := m.listUnsubscribe(c.Name, row.Email)
	if len(unsubscribe) > len(m.Unsubscribe) {
		d.UnsubscribeURL = unsubscribe[0] // the recipient's own link
	}
	subject, text, html, err := m.Templates.Render(d)
	if err != nil {
		return mailer.Message{}, err
	}
	msg := mailer.Message{
		Key:                 strconv.FormatInt(row.ID, 10),
		From:                m.From,
		To:                  mailer.Address{Name: strings.TrimSpace(row.FirstName + " " + row.LastName), Email: row.Email},
		Subject:             subject,
		Text:                text,
		HTML:                html,
		MessageID:           mailer.MessageID(c.Name, row.Email, m.messageIDDomain()),
		Date:                now,
		ListUnsubscribe:     unsubscribe,
		OneClickUnsubscribe: oneClick,
	}
	if m.ReplyTo.Email != "" {
		rt := m.ReplyTo
		msg.ReplyTo = &rt
	}
	reissueThread(&msg, c, row)
	return msg, nil
}

// emailConditions are the terms of row's coupon as the email states them:
// what the coupon template asks of the store, and the one-time locks every
// couponbridge coupon has (once, by the recipient's address, until its
// expiry in the store's time zone). Products and categories are named from
// MailSpec.ProductNames and CategoryNames, by "#ID" where the store did not
// tell a name.
func emailConditions(c Campaign, row Issue, locale string, loc *time.Location) mailer.Conditions {
	t := c.Coupon
	money := func(amount string) string {
		if v, err := strconv.ParseFloat(strings.TrimSpace(amount), 64); err != nil || v <= 0 {
			return ""
		}
		return mailer.FormatMoneyIn(locale, amount, c.Mail.Currency)
	}
	cond := mailer.Conditions{
		MinSpend:           money(t.MinimumAmount),
		MaxSpend:           money(t.MaximumAmount),
		ExcludesSaleItems:  t.ExcludeSaleItems,
		FreeShipping:       t.FreeShipping,
		IndividualUse:      t.IndividualUse == nil || *t.IndividualUse,
		Products:           names(t.ProductIDs, c.Mail.ProductNames),
		Categories:         names(t.ProductCategories, c.Mail.CategoryNames),
		ExcludedProducts:   names(t.ExcludedProductIDs, c.Mail.ProductNames),
		ExcludedCategories: names(t.ExcludedProductCategories, c.Mail.CategoryNames),
		OneUse:             true,
		Email:              row.Email,
	}
	if !row.ExpiresAt.IsZero() {
		at := row.ExpiresAt.In(loc)
		cond.ValidUntil = mailer.FormatExpiryIn(locale, at, loc, "") + ", " + at.Format("15:04") + " (" + loc.String() + ")"
	}
	return cond
}

// names are the names of ids, "#ID" for an id without one.
func names(ids []int64, known map[int64]string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n := strings.TrimSpace(known[id]); n != "" {
			out = append(out, n)
		} else {
			out = append(out, "#"+strconv.FormatInt(id, 10))
		}
	}
	return out
}
