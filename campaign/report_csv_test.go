package campaign

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestReportCSVWritesFormulaLikeTextAsTextAndKeepsNegativeAmounts(t *testing.T) {
	rep := Report{Campaigns: []CampaignReport{{Campaign: "=HYPERLINK(\"http://evil.test\")", Currency: "@EUR", Revenue: m("-5.00")}}}
	var buf bytes.Buffer
	if err := WriteReportCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]string{}
	for i, name := range rows[0] {
		col[name] = rows[1][i]
	}
	if got, want := col["campaign"], `'=HYPERLINK("http://evil.test")`; got != want {
		t.Errorf("campaign cell = %q, want %q", got, want)
	}
	if got, want := col["currency"], "'@EUR"; got != want {
		t.Errorf("currency cell = %q, want %q", got, want)
	}
	if got, want := col["revenue"], "-5.00"; got != want {
		t.Errorf("revenue cell = %q, want the number %q as it is", got, want)
	}
}
