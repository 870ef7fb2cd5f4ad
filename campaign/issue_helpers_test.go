package campaign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the tests use Europe/Berlin wherever they run

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// issBerlin is the store's time zone in these tests; issNow is an instant the
// day before the 2026 DST change there, so expiry days cross it.
var (
	issBerlin = issLoc("Europe/Berlin")
	issNow    = time.Date(2026, 3, 28, 22, 30, 0, 0, time.UTC) // 23:30 in Berlin
)

func issLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// issHarness is a sandbox store over loopback HTTP, a woo client for it, a
// ledger and an outbox.
type issHarness struct {
	t      testing.TB
	store  *wootest.Store
	srv    *httptest.Server
	client *woo.Client
	path   string // ledger file
	ledger *Ledger
	outbox *mailer.Outbox
	mail   *issCountingSender
}

// newIssHarness starts a store; wrap, when set, wraps the store's handler (a
// "plugin" that rewrites requests).
func newIssHarness(t testing.TB, wrap func(http.Handler) http.Handler) *issHarness {
	t.Helper()
	h := &issHarness{t: t, store: wootest.NewStore(wootest.WithTimezone(issBerlin))}
	var handler http.Handler = h.store
	if wrap != nil {
		handler = wrap(handler)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	var err error
	h.client, err = woo.NewClient(h.srv.URL,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1),
		woo.WithHTTPClient(h.srv.Client()),
		woo.WithRateLimit(2000, 200),
		woo.WithMaxConcurrency(8),
		woo.WithRetry(8, time.Millisecond, 20*time.Millisecond),
		woo.WithTimeout(10*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h.path = filepath.Join(dir, "ledger.db")
	h.openLedger()
	h.outbox, err = mailer.NewOutbox(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	h.mail = &issCountingSender{next: h.outbox}
	return h
}

func (h *issHarness) openLedger() {
	h.t.Helper()
	l, err := OpenLedger(context.Background(), h.path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.ledger = l
	h.t.Cleanup(func() { l.Close() })
}

// reopen closes and opens the ledger again, as a new process would.
func (h *issHarness) reopen() {
	h.t.Helper()
	if err := h.ledger.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.openLedger()
}

func issOptions() IssueOptions {
	return IssueOptions{
		Location:    issBerlin,
		BatchSize:   25,
		Concurrency: 3,
		MailChunk:   10,
		RetryWait:   5 * time.Millisecond,
		UnclearHold: 20 * time.Millisecond,
		Now:         func() time.Time { return issNow },
	}
}

func (h *issHarness) issuer(opts IssueOptions, store CouponStore, mail MailSender) *Issuer {
	h.t.Helper()
	if store == nil {
		store = h.client.Coupons
	}
	if mail == nil {
		mail = h.mail
	}
	is, err := NewIssuer(h.ledger, store, mail, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	return is
}

var issTemplates = func() *mailer.Templates {
	t, err := mailer.LoadTemplates(mailer.TemplateSource{
		Subject: "Your {{.Amount}} coupon",
		Text:    "Hello {{.FirstName}},\nyour code: {{.Code}}\nworth {{.Amount}} until {{.Expires}}.\nTier: {{.Fields.tier}}\n",
	}, []string{"tier"})
	if err != nil {
		panic(err)
	}
	return t
}()

func issCampaign(name string) Campaign {
	return Campaign{
		Name:   name,
		Codes:  CodeSpec{Prefix: "TEST-", Pattern: "XXXX-XXXX-XXXX"},
		Coupon: CouponTemplate{DiscountType: DiscountFixedCart, Amount: "10", Expiry: ExpirySpec{Days: 3}},
		Mail: MailSpec{
			From:      mailer.Address{Name: "Shop", Email: "shop@example.com"},
			Templates: issTemplates,
			StoreName: "Test Shop",
			Currency:  "EUR",
		},
	}
}

// issCSV is a list of n recipients r000@example.com… with a tier
// column, plus the given extra raw lines at the end.
func issCSV(n int, extra ...string) string {
	var b strings.Builder
	b.WriteString("email,first_name,last_name,tier\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,First%d,Last%d,gold\n", issEmail(i), i, i)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func issEmail(i int) string { return fmt.Sprintf("r%04d@example.com", i) }

func issSource(t testing.TB, csv string) RecipientSource {
	t.Helper()
	rr, err := NewRecipientReader(strings.NewReader(csv), "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// issCountingSender passes messages on and counts what was delivered, per
// recipient, with the text each one got.
type issCountingSender struct {
	next MailSender

	mu        sync.Mutex
	delivered map[string][]mailer.Message
	calls     int
}

func (s *issCountingSender) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	byKey := map[string]mailer.Message{}
	for _, m := range msgs {
		byKey[m.Key] = m
	}
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.next.Send(ctx, msgs, func(r mailer.Result) {
		if r.Status == mailer.Delivered {
			s.mu.Lock()
			if s.delivered == nil {
				s.delivered = map[string][]mailer.Message{}
			}
			m := byKey[r.Key]
			s.delivered[m.To.Email] = append(s.delivered[m.To.Email], m)
			s.mu.Unlock()
		}
		report(r)
	})
}

func (s *issCountingSender) snapshot() map[string][]mailer.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]mailer.Message{}
	for k, v := range s.delivered {
		out[k] = append([]mailer.Message(nil), v...)
	}
	return out
}

// issNullSender accepts every message without doing anything.
type issNullSender struct{}

func (issNullSender) Send(_ context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, m := range msgs {
		report(mailer.Result{Key: m.Key, Status: mailer.Delivered, Reply: "250 ok"})
	}
	return nil
}

// issRefusingSender refuses every message temporarily.
type issRefusingSender struct{}

func (issRefusingSender) Send(_ context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, m := range msgs {
		report(mailer.Result{Key: m.Key, Status: mailer.TempFailure, Reply: "451 4.3.0 try again later"})
	}
	return nil
}

// issParsedMail is the recipient and text of an RFC 5322 message.
type issParsedMail struct {
	To, Subject, Text string
}

// issParseMail decodes a message as the outbox or an SMTP server holds it:
// multipart/alternative or single part, quoted-printable or not.
func issParseMail(t testing.TB, raw []byte) issParsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		t.Fatalf("parse To: %v", err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(m.Header.Get("Subject"))
	pm := issParsedMail{To: to.Address, Subject: subj}
	pm.Text = issPartText(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return pm
}

func issPartText(t testing.TB, ctype, cte string, body io.Reader) string {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var text string
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			s := issPartText(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") || text == "" {
				text = s
			}
		}
		return text
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// outboxMails parses every .eml file of the outbox.
func (h *issHarness) outboxMails() []issParsedMail {
	h.t.Helper()
	files, err := filepath.Glob(filepath.Join(h.outbox.Dir(), "*.eml"))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []issParsedMail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, issParseMail(h.t, raw))
	}
	return out
}

// ledgerCodes maps each recipient of a campaign to its ledger row.
func (h *issHarness) rows(campaign string) map[string]Issue {
	h.t.Helper()
	out := map[string]Issue{}
	for is, err := range h.ledger.Rows(context.Background(), campaign) {
		if err != nil {
			h.t.Fatal(err)
		}
		out[is.Email] = is
	}
	return out
}

// checkInvariants checks the promises over the store, the ledger and the
// mail: every recipient in want has exactly one live coupon of the
// campaign, with the fields asked, the one its ledger row names; every
// emailed row was delivered exactly once, with its own code; and no coupon
// create reached the store more than needed.
func (h *issHarness) checkInvariants(c Campaign, want []string, emailed bool) {
	h.t.Helper()
	t := h.t
	rows := h.rows(c.Name)
	byRecipient := map[string][]wootest.CouponSnapshot{}
	for _, cp := range h.store.Coupons() {
		if cp.Status != "publish" || cp.Meta[MetaCampaign] != c.Name {
			continue
		}
		byRecipient[cp.Meta[MetaRecipient]] = append(byRecipient[cp.Meta[MetaRecipient]], cp)
	}
	delivered := h.mail.snapshot()
	for _, email := range want {
		row, ok := rows[email]
		if !ok {
			t.Errorf("%s: no ledger row", email)
			continue
		}
		cps := byRecipient[email]
		if len(cps) != 1 {
			t.Errorf("%s: %d coupons in the store; want exactly 1", email, len(cps))
			continue
		}
		cp := cps[0]
		wantExp := c.Coupon.ExpiresAt(issNow, issBerlin)
		switch {
		case cp.ID != row.CouponID:
			t.Errorf("%s: store coupon %d, ledger says %d", email, cp.ID, row.CouponID)
		case cp.Code != CodeKey(row.Code):
			t.Errorf("%s: store code %q, ledger code %q", email, cp.Code, row.Code)
		case cp.Amount != "10.00" || cp.DiscountType != DiscountFixedCart:
			t.Errorf("%s: amount %s %s; want 10.00 fixed_cart", email, cp.Amount, cp.DiscountType)
		case cp.UsageLimit != 1 || cp.UsageLimitPerUser != 1 || !cp.IndividualUse:
			t.Errorf("%s: limits %d/%d individual %v; want 1/1 true", email, cp.UsageLimit, cp.UsageLimitPerUser, cp.IndividualUse)
		case len(cp.EmailRestrictions) != 1 || cp.EmailRestrictions[0] != email:
			t.Errorf("%s: email restrictions %v; want [%s]", email, cp.EmailRestrictions, email)
		case !cp.DateExpiresGMT.Equal(wantExp) || !row.ExpiresAt.Equal(wantExp):
			t.Errorf("%s: expires %s (ledger %s); want %s", email, cp.DateExpiresGMT, row.ExpiresAt, wantExp)
		}
		if !emailed {
			continue
		}
		if row.State != StateEmailed {
			t.Errorf("%s: state %s (%s); want emailed", email, row.State, row.LastError)
		}
		msgs := delivered[email]
		if len(msgs) != 1 {
			t.Errorf("%s: delivered %d times; want exactly once", email, len(msgs))
			continue
		}
		if !strings.Contains(msgs[0].Text, row.Code) {
			t.Errorf("%s: message text does not carry its code %s:\n%s", email, row.Code, msgs[0].Text)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("ledger has %d rows; want %d", len(rows), len(want))
	}
}

func issEmails(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = issEmail(i)
	}
	return out
}
