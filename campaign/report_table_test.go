package campaign

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestReportTableFitsOneHundredColumns(t *testing.T) {
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), time.UTC)
	b.AddCampaign("black-friday-2026-loyal-customers-second-wave", false)
	b.AddCampaign("welcome", false)
	for range 3 {
		b.AddCode(ReportCode{Campaign: "welcome", State: "emailed", IssuedAt: day("2026-03-01T09:00:00Z"),
			EmailedAt: day("2026-03-01T09:05:00Z"), RedeemedAt: day("2026-03-02T09:05:00Z"), Reminded: true, Changed: true,
			UseReturned: true, LastSyncedAt: day("2026-03-19T08:00:00Z")})
	}
	b.AddOrderLine(ReportOrderLine{Campaign: "black-friday-2026-loyal-customers-second-wave", OrderID: 1, Status: "completed",
		Currency: "EUR", Total: m("12345678.90"), Discount: m("1234567.89")})
	b.AddOrderLine(ReportOrderLine{Campaign: "black-friday-2026-loyal-customers-second-wave", OrderID: 2, Status: "completed",
		Currency: "USD", Total: m("1"), Discount: m("1")})
	rep := b.Report()
	rep.Campaigns[0].Issued, rep.Campaigns[0].Emailed, rep.Campaigns[0].Redeemed = 1_250_000, 1_249_000, 250_000

	var buf bytes.Buffer
	if err := WriteReportTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > ReportTableWidth {
			t.Errorf("line %d is %d characters wide, want at most %d:\n%s", i+1, n, ReportTableWidth, line)
		}
	}
	out := buf.String()
	for _, want := range []string{"12345679.90 EUR", "1250000", "black-friday-2026-loyal-customers-second-wave: ", "never synced"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	var wide bytes.Buffer
	if err := WriteReportWideTable(&wide, rep); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(wide.String(), "\n")
	if got := len(strings.Fields(strings.ReplaceAll(head, "  ", "\t"))); !strings.Contains(head, "LAST SYNC") || !strings.Contains(head, "DELETED IN STORE") {
		t.Errorf("wide table header has %d fields and lacks columns: %s", got, head)
	}
}

func TestReportShowsTheStoreCurrencyBeforeTheFirstOrder(t *testing.T) {
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), time.UTC)
	b.AddCampaign("welcome", false)
	b.AddCode(ReportCode{Campaign: "welcome", State: "emailed", IssuedAt: day("2026-03-01T09:00:00Z"), EmailedAt: day("2026-03-01T09:05:00Z")})
	rep := b.Report()
	rep.SetStoreCurrency("EUR")
	if rep.Campaigns[0].Currency != "EUR" {
		t.Errorf("currency without orders = %q, want the store's EUR", rep.Campaigns[0].Currency)
	}
	var buf bytes.Buffer
	if err := WriteReportTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "0.00 EUR") {
		t.Errorf("table does not show 0.00 EUR before the first order:\n%s", buf.String())
	}
}

func TestReportTimesAreShownInTheStoreZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), berlin)
	b.AddCode(ReportCode{Campaign: "welcome", State: "emailed", IssuedAt: day("2026-03-01T09:00:00Z"), LastSyncedAt: day("2026-03-19T08:00:00Z")})
	rep := b.Report()
	for name, write := range map[string]func(*bytes.Buffer) error{
		"table": func(w *bytes.Buffer) error { return WriteReportTable(w, rep) },
		"wide":  func(w *bytes.Buffer) error { return WriteReportWideTable(w, rep) },
		"html":  func(w *bytes.Buffer) error { return WriteReportHTML(w, rep) },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "2026-03-19 09:00 CET") {
			t.Errorf("%s: last sync not shown as 2026-03-19 09:00 CET (the store's zone):\n%s", name, buf.String())
		}
	}
}
