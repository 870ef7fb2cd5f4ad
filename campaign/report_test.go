package campaign

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run go test -run %s -update to create it): %v", path, t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixedReport is the data set behind the golden files: two campaigns, one
// with redemptions, a returned use, orders in every kind of status, and an
// order that used two codes of the same campaign.
func fixedReport() Report {
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), time.UTC)
	b.AddCampaign("spring", false)
	b.AddCampaign("influencers", true)
	b.AddCampaign("empty", false)
	sync := day("2026-03-19T08:00:00Z")
	add := func(c ReportCode) {
		if c.LastSyncedAt.IsZero() {
			c.LastSyncedAt = sync
		}
		b.AddCode(c)
	}
	exp := day("2026-03-15T23:59:59Z")
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-01T09:00:00Z"), EmailedAt: day("2026-03-01T09:05:00Z"), ExpiresAt: exp, RedeemedAt: day("2026-03-03T09:05:00Z")})
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-01T09:00:00Z"), EmailedAt: day("2026-03-01T09:05:00Z"), ExpiresAt: exp, RedeemedAt: day("2026-03-05T21:05:00Z")})
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-02T09:00:00Z"), EmailedAt: day("2026-03-02T09:05:00Z"), ExpiresAt: exp, RedeemedAt: day("2026-03-08T09:05:00Z"), Reminded: true})
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-02T09:00:00Z"), EmailedAt: day("2026-03-02T09:05:00Z"), ExpiresAt: exp, UseReturned: true})
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-02T09:00:00Z"), EmailedAt: day("2026-03-02T09:05:00Z"), ExpiresAt: exp, Changed: true, Reminded: true})
	add(ReportCode{Campaign: "spring", State: "pruned", IssuedAt: day("2026-03-04T09:00:00Z"), EmailedAt: day("2026-03-04T09:05:00Z"), ExpiresAt: exp})
	add(ReportCode{Campaign: "spring", State: "emailed", IssuedAt: day("2026-03-04T09:00:00Z"), EmailedAt: day("2026-03-04T09:05:00Z"), ExpiresAt: day("2026-04-15T23:59:59Z"), Deleted: true})
	add(ReportCode{Campaign: "spring", State: "failed", IssuedAt: day("2026-03-04T09:00:00Z"), ExpiresAt: exp})
	add(ReportCode{Campaign: "spring", State: "failed"})
	add(ReportCode{Campaign: "influencers", State: "exported", IssuedAt: day("2026-03-10T10:00:00Z"), ExpiresAt: day("2026-06-30T23:59:59Z"), RedeemedAt: day("2026-03-12T10:00:00Z")})
	add(ReportCode{Campaign: "influencers", State: "exported", IssuedAt: day("2026-03-10T10:00:00Z"), ExpiresAt: day("2026-06-30T23:59:59Z"), LastSyncedAt: day("2026-03-19T09:30:00Z")})
	for _, l := range []ReportOrderLine{
		{Campaign: "spring", OrderID: 101, Status: "completed", Currency: "EUR", Total: m("54.90"), Discount: m("5.00")},
		{Campaign: "spring", OrderID: 102, Status: "processing", Currency: "EUR", Total: m("20.00"), Discount: m("5.00")},
		{Campaign: "spring", OrderID: 102, Status: "processing", Currency: "EUR", Total: m("20.00"), Discount: m("2.50")},
		{Campaign: "spring", OrderID: 103, Status: "on-hold", Currency: "EUR", Total: m("10.05"), Discount: m("1.05")},
		{Campaign: "spring", OrderID: 104, Status: "cancelled", Currency: "EUR", Total: m("99.00"), Discount: m("5.00")},
		{Campaign: "spring", OrderID: 105, Status: "pending", Currency: "EUR", Total: m("12.00"), Discount: m("5.00")},
		{Campaign: "spring", OrderID: 106, Status: "refunded", Currency: "EUR", Total: m("40.00"), Discount: m("5.00")},
		{Campaign: "influencers", OrderID: 201, Status: "completed", Currency: "EUR", Total: m("80.00"), Discount: m("8.00")},
	} {
		b.AddOrderLine(l)
	}
	rep := b.Report()
	rep.SetStoreCurrency("EUR")
	return rep
}

func m(s string) Money {
	v, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestReportFiguresAreExact(t *testing.T) {
	rep := fixedReport()
	if len(rep.Campaigns) != 3 {
		t.Fatalf("campaigns = %d, want 3", len(rep.Campaigns))
	}
	var spring, infl CampaignReport
	for _, c := range rep.Campaigns {
		switch c.Campaign {
		case "spring":
			spring = c
		case "influencers":
			infl = c
		}
	}
	type fig struct {
		name      string
		got, want any
	}
	for _, f := range []fig{
		{"planned", spring.Planned, 9},
		{"issued", spring.Issued, 8},
		{"emailed", spring.Emailed, 7},
		{"failed", spring.Failed, 2},
		{"redeemed", spring.Redeemed, 3},
		{"rate", spring.RedemptionRate, 3.0 / 7},
		{"orders (processing, completed, on-hold; 102 once)", spring.Orders, 3},
		{"revenue", spring.Revenue.String(), "84.95"},
		{"discount", spring.DiscountCost.String(), "13.55"},
		{"currency", spring.Currency, "EUR"},
		{"use returned", spring.UseReturned, 1},
		{"expired (unused, past expiry, issued)", spring.Expired, 3},
		{"deleted", spring.DeletedInStore, 1},
		{"changed", spring.ChangedInStore, 1},
		{"pruned", spring.Pruned, 1},
		{"reminded", spring.Reminded, 2},
		{"median days (2.0, 4.5, 6.0)", *spring.MedianDaysToRedeem, 4.5},
		{"days", len(spring.Daily), 8},
		{"export-only rate over issued", infl.RedemptionRate, 0.5},
		{"export-only median from issue", *infl.MedianDaysToRedeem, 2.0},
		{"last sync is the newest row's", infl.LastSync, day("2026-03-19T09:30:00Z")},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if want := (DayCount{Day: "2026-03-02", Issued: 3, Redeemed: 0}); spring.Daily[1] != want {
		t.Errorf("spring day 2 = %+v, want %+v", spring.Daily[1], want)
	}
	if want := (DayCount{Day: "2026-03-08", Issued: 0, Redeemed: 1}); spring.Daily[7] != want {
		t.Errorf("spring last day = %+v, want %+v", spring.Daily[7], want)
	}
}

func TestReportDaysFollowTheTimezone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), berlin)
	// 23:30 UTC on the 1st is 00:30 on the 2nd in Berlin.
	b.AddCode(ReportCode{Campaign: "c", State: "emailed", IssuedAt: day("2026-03-01T23:30:00Z"), EmailedAt: day("2026-03-01T23:30:00Z")})
	got := b.Report().Campaigns[0].Daily
	if len(got) != 1 || got[0].Day != "2026-03-02" {
		t.Errorf("daily = %+v, want one day 2026-03-02", got)
	}
}

func TestReportWarnsAboutMixedCurrencies(t *testing.T) {
	b := NewReportBuilder(time.Now(), nil)
	b.AddOrderLine(ReportOrderLine{Campaign: "c", OrderID: 1, Status: "completed", Currency: "EUR", Total: m("1")})
	b.AddOrderLine(ReportOrderLine{Campaign: "c", OrderID: 2, Status: "completed", Currency: "USD", Total: m("1")})
	c := b.Report().Campaigns[0]
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "EUR, USD") {
		t.Errorf("warnings = %q, want one naming EUR, USD", c.Warnings)
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]string{
		"12.5": "12.50", "0": "0.00", "": "0.00", "-3": "-3.00", "0.3333": "0.3333",
		"1.23456": "1.2346", "19.99": "19.99", ".5": "0.50", "+7.10": "7.10",
	} {
		got, err := ParseMoney(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"abc", "1,50", "1.2.3", "-", ".", "1e5", "123456789012345678"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) succeeded, want an error", bad)
		}
	}
}

func TestReportFormatsMatchGolden(t *testing.T) {
	rep := fixedReport()
	for _, format := range ReportFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteReport(&buf, rep, format); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "report/report."+format, buf.Bytes())
		})
	}
	var wide bytes.Buffer
	if err := WriteReportWideTable(&wide, rep); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report/report.wide.table", wide.Bytes())
	if err := WriteReport(io.Discard, rep, "xml"); err == nil {
		t.Error("format xml accepted, want an error")
	}
}

func TestReportJSONRoundTrips(t *testing.T) {
	rep := fixedReport()
	var buf bytes.Buffer
	if err := WriteReportJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Campaigns[2].Revenue != rep.Campaigns[2].Revenue || back.Campaigns[2].Campaign != "spring" {
		t.Errorf("round trip: got %+v, want %+v", back.Campaigns[2], rep.Campaigns[2])
	}
	if !strings.Contains(buf.String(), `"revenue": "84.95"`) {
		t.Error(`JSON does not carry revenue as the string "84.95"`)
	}
}

func TestReportCSVHasOneRowPerCampaign(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReportCSV(&buf, fixedReport()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[3][0] != "spring" || rows[3][5] != "0.4286" {
		t.Errorf("rows = %q, want header + 3 with spring's rate 0.4286", rows)
	}
}

// htmlVoid are the HTML elements that have no end tag.
var htmlVoid = []string{"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

// svgEmpty are the SVG elements the report writes as self-closing.
var svgEmpty = []string{"line", "rect", "path", "circle", "polyline"}

// checkHTML checks that page is a complete, self-contained HTML document:
// well formed (it is written as polyglot markup, so a strict XML parser reads
// it), with only void or SVG elements self-closed, a DOCTYPE, head, title and
// body, nothing loaded from outside (no script, link, img, iframe, url(),
// external href or src), and it returns the parsed elements by name.
func checkHTML(t *testing.T, page []byte) map[string][]xml.StartElement {
	t.Helper()
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>\n")) {
		t.Errorf("page does not start with <!DOCTYPE html>")
	}
	for _, m := range regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*/>`).FindAllSubmatch(page, -1) {
		name := strings.ToLower(string(m[1]))
		if !slices.Contains(htmlVoid, name) && !slices.Contains(svgEmpty, name) {
			t.Errorf("non-void element self-closed: %s", m[0])
		}
	}
	if bytes.Contains(page, []byte("url(")) {
		t.Error("page refers to an external resource with url(")
	}
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.AutoClose = htmlVoid
	d.Entity = map[string]string{} // only the XML ones and numeric references are written
	found := map[string][]xml.StartElement{}
	var stack []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("page is not well formed: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			name := tk.Name.Local
			found[name] = append(found[name], tk)
			stack = append(stack, name)
			switch name {
			case "script", "link", "img", "iframe", "object", "embed", "base":
				t.Errorf("page has a <%s> element", name)
			}
			for _, a := range tk.Attr {
				if (a.Name.Local == "href" || a.Name.Local == "src") && !strings.HasPrefix(a.Value, "#") {
					t.Errorf("<%s %s=%q> refers outside the page", name, a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements: %v", stack)
	}
	for _, must := range []string{"html", "head", "title", "style", "body", "table"} {
		if len(found[must]) == 0 {
			t.Errorf("page has no <%s>", must)
		}
	}
	return found
}

func TestReportHTMLIsOneValidSelfContainedPageWithTheChart(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReportHTML(&buf, fixedReport()); err != nil {
		t.Fatal(err)
	}
	found := checkHTML(t, buf.Bytes())
	if got := len(found["svg"]); got != 2 {
		t.Errorf("charts = %d, want one per campaign with codes (2)", got)
	}
	var issued, redeemed int
	for _, r := range found["rect"] {
		for _, a := range r.Attr {
			if a.Name.Local == "class" {
				switch a.Value {
				case "issued":
					issued++
				case "redeemed":
					redeemed++
				}
			}
		}
	}
	// spring: issue days 03-01, 03-02, 03-04; redemption days 03-03, 03-05,
	// 03-08. influencers: 03-10 issued, 03-12 redeemed.
	if issued != 4 || redeemed != 4 {
		t.Errorf("bars: issued %d, redeemed %d; want 4 and 4", issued, redeemed)
	}
	if !bytes.Contains(buf.Bytes(), []byte("<title>2026-03-02: 3 issued</title>")) {
		t.Error("chart has no bar titled 2026-03-02: 3 issued")
	}
}

func TestReportHTMLEscapesCampaignNames(t *testing.T) {
	b := NewReportBuilder(day("2026-03-20T12:00:00Z"), time.UTC)
	b.AddCampaign(`<script>alert("x")</script>&`, false)
	var buf bytes.Buffer
	if err := WriteReportHTML(&buf, b.Report()); err != nil {
		t.Fatal(err)
	}
	found := checkHTML(t, buf.Bytes())
	if len(found["script"]) != 0 {
		t.Error("campaign name injected a <script> element")
	}
	for _, sec := range found["section"] {
		for _, a := range sec.Attr {
			if a.Name.Local == "id" && strings.ContainsAny(a.Value, " <>\"&") {
				t.Errorf("section id %q is not a valid HTML id", a.Value)
			}
		}
	}
}

func TestChartScaleIsNiceAndCoversThePeak(t *testing.T) {
	c := buildChart([]DayCount{{Day: "2026-01-01", Issued: 37, Redeemed: 3}, {Day: "2026-01-02", Issued: 0, Redeemed: 0}})
	last := c.YTicks[len(c.YTicks)-1]
	if last.Label != "40" || last.Y != c.Top {
		t.Errorf("top tick = %+v, want 40 at y=%v", last, c.Top)
	}
	if len(c.Bars) != 2 {
		t.Fatalf("bars = %d, want 2 (zero counts draw nothing)", len(c.Bars))
	}
	if h := c.Bars[0].H; h != round2(37.0/40*c.PlotH) {
		t.Errorf("bar height %v, want %v", h, round2(37.0/40*c.PlotH))
	}
	if empty := buildChart(nil); !empty.Empty {
		t.Error("chart of no days is not marked empty")
	}
}

// BenchmarkReportBuilder measures folding ledger rows into a report: the
// builder keeps per-day counters and the redemption delays only, so memory
// per row stays near zero however long the campaign.
func BenchmarkReportBuilder(b *testing.B) {
	t0 := day("2026-01-01T09:00:00Z")
	b.ReportAllocs()
	for b.Loop() {
		rb := NewReportBuilder(t0.AddDate(0, 3, 0), time.UTC)
		for i := range 100_000 {
			issued := t0.Add(time.Duration(i) * time.Minute)
			c := ReportCode{Campaign: "bench", State: "emailed", IssuedAt: issued, EmailedAt: issued, ExpiresAt: issued.AddDate(0, 0, 30)}
			if i%10 == 0 {
				c.RedeemedAt = issued.Add(time.Duration(i%97) * time.Hour)
			}
			rb.AddCode(c)
		}
		_ = rb.Report()
	}
}

// FuzzParseMoney: amounts come from the store's orders. Whatever is parsed
// prints back to a string that parses to the same amount, and nothing panics.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"12.50", "0", "-3", ".5", "1.23456", "99999999999999.9999", "+7.1", "1e5", "", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		back, err := ParseMoney(m.String())
		if err != nil || back != m {
			t.Errorf("ParseMoney(%q) = %v; its string %q parses to %v, %v", s, m, m.String(), back, err)
		}
	})
}
