package campaign

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

var testUnsubSecret = []byte("0123456789abcdef-unsubscribe-test")

func testUnsubLinks(t *testing.T) *UnsubscribeLinks {
	t.Helper()
	links, err := NewUnsubscribeLinks("https://shop.example.com/couponbridge/", testUnsubSecret)
	if err != nil {
		t.Fatal(err)
	}
	return links
}

// unsubRequest sends method to link (its query, on srv) with body.
func unsubRequest(t *testing.T, h http.Handler, method, link, contentType, body string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, UnsubscribePath+"?"+u.RawQuery, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// oneClick is what a mail provider posts for RFC 8058.
func oneClick(t *testing.T, h http.Handler, link string) (*http.Response, string) {
	t.Helper()
	return unsubRequest(t, h, http.MethodPost, link, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
}

func suppressedEmails(t *testing.T, l *Ledger) []string {
	t.Helper()
	list, err := l.Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.Email)
	}
	return out
}

func TestOneClickUnsubscribeIsHonouredByTheNextJobRun(t *testing.T) {
	l := openJobsLedger(t)
	links := testUnsubLinks(t)
	d, err := NewDaemon(DaemonOptions{Ledger: l, Unsubscribe: links}, &JobSet{})
	if err != nil {
		t.Fatal(err)
	}
	link := links.Link("welcome", "Leave@Example.com")
	if !strings.HasPrefix(link, "https://shop.example.com/couponbridge/unsubscribe?") {
		t.Errorf("link = %q, want it on the public URL", link)
	}
	res, _ := oneClick(t, d.Handler(), link)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: status %d, want 200", res.StatusCode)
	}
	list, err := l.Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Email != "leave@example.com" || list[0].Source != SuppressUnsubscribe || list[0].Campaign != "welcome" {
		t.Fatalf("suppression list = %+v, want leave@example.com by unsubscribe from welcome", list)
	}
	if got := testutilCounter(t, d, "one_click"); got != 1 {
		t.Errorf("couponbridge_unsubscribes_total{via=one_click} = %v, want 1", got)
	}

	r, _ := newJobTestRunner(t, l, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	run, err := r.Run(context.Background(), Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
		Source: &jobSliceSource{cands: jobPeople("stay@example.com", "leave@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "welcome"); !slices.Equal(got, []string{"stay@example.com"}) {
		t.Errorf("planned = %v, want only stay@example.com", got)
	}
	if run.Counts.Suppressed != 1 || run.Counts.Planned != 1 {
		t.Errorf("counts = %+v, want suppressed 1, planned 1", run.Counts)
	}
}

func TestUnsubscribedRecipientIsNotPlannedByIssueNorCountedNewByTheDryRun(t *testing.T) {
	h := newIssHarness(t, nil)
	links := testUnsubLinks(t)
	handler := NewUnsubscribeHandler(links, h.ledger, nil, nil)
	if res, _ := oneClick(t, handler, links.Link("other-campaign", issEmail(1))); res.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: status %d", res.StatusCode)
	}
	c := issCampaign("spring")
	is := h.issuer(issOptions(), nil, nil)
	plan, err := is.DryRun(context.Background(), c, issSource(t, issCSV(3)))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Suppressed != 1 || plan.New != 2 {
		t.Errorf("dry run: suppressed %d, new %d; want 1 and 2", plan.Suppressed, plan.New)
	}
	res, err := is.Run(context.Background(), c, issSource(t, issCSV(3)))
	if err != nil {
		t.Fatal(err)
	}
	if res.ThisRun.Suppressed != 1 || res.ThisRun.Planned != 2 || res.ThisRun.Emailed != 2 {
		t.Errorf("counts = %+v, want suppressed 1, planned 2, emailed 2", res.ThisRun)
	}
	rows := h.rows("spring")
	if _, ok := rows[issEmail(1)]; ok || len(rows) != 2 {
		t.Errorf("rows of %d recipients (%s among them: %v), want r0000 and r0002 only", len(rows), issEmail(1), ok)
	}
	if got := h.mail.snapshot()[issEmail(1)]; len(got) != 0 {
		t.Errorf("%s got %d emails after unsubscribing", issEmail(1), len(got))
	}
}

func TestUnsubscribeLinkOfAnotherAddressOrCampaignIsRefused(t *testing.T) {
	l := openJobsLedger(t)
	links := testUnsubLinks(t)
	h := NewUnsubscribeHandler(links, l, nil, nil)
	good, _ := url.Parse(links.Link("welcome", "alice@example.com"))
	for name, edit := range map[string]func(q url.Values){
		"other address":  func(q url.Values) { q.Set("e", "bob@example.com") },
		"other campaign": func(q url.Values) { q.Set("c", "winback") },
		"cut token":      func(q url.Values) { q.Set("t", q.Get("t")[:20]) },
		"no token":       func(q url.Values) { q.Del("t") },
		"not base64":     func(q url.Values) { q.Set("t", "!!!") },
	} {
		q := good.Query()
		edit(q)
		bad := "https://x/unsubscribe?" + q.Encode()
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			res, body := unsubRequest(t, h, method, bad, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid") {
				t.Errorf("%s, %s: status %d, want 403 with a page", name, method, res.StatusCode)
			}
		}
	}
	other, err := NewUnsubscribeLinks("https://shop.example.com", []byte("another-secret-of-16-bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := oneClick(t, h, other.Link("welcome", "alice@example.com")); res.StatusCode != http.StatusForbidden {
		t.Errorf("link signed with another secret: status %d, want 403", res.StatusCode)
	}
	if got := suppressedEmails(t, l); len(got) != 0 {
		t.Errorf("suppressed %v by refused links", got)
	}
}

func TestUnsubscribeGetShowsAButtonAndUnsubscribesNobody(t *testing.T) {
	l := openJobsLedger(t)
	links := testUnsubLinks(t)
	h := NewUnsubscribeHandler(links, l, nil, nil)
	link := links.Link("welcome", "alice@example.com")
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		res, body := unsubRequest(t, h, method, link, "", "")
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", method, res.StatusCode)
		}
		if method == http.MethodGet && (!strings.Contains(body, `<form method="post"`) || !strings.Contains(body, "alice@example.com")) {
			t.Errorf("GET page has no POST form naming the address:\n%s", body)
		}
	}
	if got := suppressedEmails(t, l); len(got) != 0 {
		t.Fatalf("a GET suppressed %v", got)
	}
	// The page's button posts the fields in its body.
	u, _ := url.Parse(link)
	res, body := unsubRequest(t, h, http.MethodPost, "https://x/unsubscribe", "application/x-www-form-urlencoded", u.RawQuery)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "unsubscribed") {
		t.Errorf("button POST: status %d, body %q", res.StatusCode, body)
	}
	if got := suppressedEmails(t, l); !slices.Equal(got, []string{"alice@example.com"}) {
		t.Errorf("suppressed = %v after the button, want alice@example.com", got)
	}
	// A second unsubscribe keeps the first entry and still answers 200.
	if res, _ := oneClick(t, h, link); res.StatusCode != http.StatusOK {
		t.Errorf("second unsubscribe: status %d, want 200", res.StatusCode)
	}
}

func TestUnsubscribeRefusesAnOversizedBody(t *testing.T) {
	l := openJobsLedger(t)
	links := testUnsubLinks(t)
	h := NewUnsubscribeHandler(links, l, nil, nil)
	body := "List-Unsubscribe=One-Click&pad=" + strings.Repeat("x", maxUnsubscribeBody)
	res, _ := unsubRequest(t, h, http.MethodPost, links.Link("welcome", "alice@example.com"), "application/x-www-form-urlencoded", body)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", res.StatusCode)
	}
	if got := suppressedEmails(t, l); len(got) != 0 {
		t.Errorf("suppressed %v from an oversized request", got)
	}
}

func TestSuppressionListAddRemoveList(t *testing.T) {
	l := openJobsLedger(t)
	ctx := context.Background()
	added, err := l.Suppress(ctx, Suppression{Email: " Bob@Example.COM ", Source: SuppressManual, Reason: "asked by phone"})
	if err != nil || !added {
		t.Fatalf("Suppress = %v, %v", added, err)
	}
	if added, err = l.Suppress(ctx, Suppression{Email: "bob@example.com", Source: SuppressUnsubscribe}); err != nil || added {
		t.Errorf("second Suppress = %v, %v; want kept as it was", added, err)
	}
	if _, err := l.Suppress(ctx, Suppression{Email: "not an address", Source: SuppressManual}); err == nil {
		t.Error("Suppress accepted a bad address")
	}
	list, err := l.Suppressions(ctx)
	if err != nil || len(list) != 1 || list[0].Reason != "asked by phone" || list[0].Source != SuppressManual {
		t.Fatalf("Suppressions = %+v, %v", list, err)
	}
	if removed, err := l.Unsuppress(ctx, "BOB@example.com"); err != nil || !removed {
		t.Errorf("Unsuppress = %v, %v", removed, err)
	}
	if removed, err := l.Unsuppress(ctx, "bob@example.com"); err != nil || removed {
		t.Errorf("second Unsuppress = %v, %v; want nothing removed", removed, err)
	}
}

// testutilCounter reads couponbridge_unsubscribes_total{via} from the
// daemon's registry.
func testutilCounter(t *testing.T, d *Daemon, via string) float64 {
	t.Helper()
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "couponbridge_unsubscribes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "via" && lp.GetValue() == via {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestEmailCarriesTheRecipientsOwnOneClickUnsubscribeLink(t *testing.T) {
	links := testUnsubLinks(t)
	c := jobCampaign(t, "welcome")
	c.Mail.Unsubscribe = []string{"mailto:unsubscribe@example.com"}
	c.Mail.UnsubscribeLink = links.Link
	msg, err := ComposeEmail(c, Issue{ID: 7, Email: "ann@example.com", Code: "JOB-AAAA-BBBB-CCCC",
		ExpiresAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, time.UTC, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{links.Link("welcome", "ann@example.com"), "mailto:unsubscribe@example.com"}
	if !slices.Equal(msg.ListUnsubscribe, want) || !msg.OneClickUnsubscribe {
		t.Errorf("List-Unsubscribe = %v, one-click %v; want %v with one-click", msg.ListUnsubscribe, msg.OneClickUnsubscribe, want)
	}
	u, _ := url.Parse(msg.ListUnsubscribe[0])
	if q := u.Query(); !links.Valid("welcome", "ann@example.com", q.Get("t")) || links.Valid("welcome", "bob@example.com", q.Get("t")) {
		t.Error("the link's token is not valid for ann alone")
	}
}

func TestOneClickUnsubscribeAcceptsAMultipartBody(t *testing.T) {
	l := openJobsLedger(t)
	links := testUnsubLinks(t)
	h := NewUnsubscribeHandler(links, l, nil, nil)
	body := "--XX\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XX--\r\n"
	res, _ := unsubRequest(t, h, http.MethodPost, links.Link("welcome", "ann@example.com"), "multipart/form-data; boundary=XX", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if got := suppressedEmails(t, l); !slices.Equal(got, []string{"ann@example.com"}) {
		t.Errorf("suppressed = %v, want ann@example.com", got)
	}
	list, _ := l.Suppressions(context.Background())
	if list[0].Reason != "unsubscribed (one-click)" {
		t.Errorf("reason = %q, want the one-click recorded", list[0].Reason)
	}
}
