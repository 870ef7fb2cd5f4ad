package main

import (
	"testing"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
)

// sampleRecipientData is what camp's templates get for a recipient with
// no first name.
func sampleRecipientData(t *testing.T, camp campaign.Campaign) mailer.Data {
	t.Helper()
	d := mailer.SampleData(nil)
	d.FirstName, d.LastName = "", ""
	d.Amount = mailer.FormatAmountIn(camp.Mail.Templates.Locale(), camp.Coupon.DiscountType, camp.Coupon.Amount, camp.Mail.Currency)
	return d
}
