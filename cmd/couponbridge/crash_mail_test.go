package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestKillsWhileEmailingLeaveInDoubtOnlyWhatTheServerMayHaveReceived kills
// `couponbridge issue` again and again while it emails, against a mail
// server that refuses some messages with 451, drops the connection before
// the data of others, and drops it after reading the whole message of a few
// (it may have queued them: outcome unknown). Then it lets a run finish.
//
// The promises: nobody receives their code twice (a message whose outcome
// was unknown is never sent again); every emailed row was received exactly
// once; and a row is left unconfirmed only when the server may really have
// received its message. The one exception no design can remove is the
// instant between the durable "sending" mark and the first byte of the
// transaction (a kill there leaves a row in doubt that the server never
// saw): at most one such row per kill and connection, and far fewer than
// rows waiting for a retry, which must never be in doubt.
func TestKillsWhileEmailingLeaveInDoubtOnlyWhatTheServerMayHaveReceived(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns a subprocess many times; skipped in -short")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	store := wootest.NewStore()
	srv := httptest.NewServer(store)
	defer srv.Close()
	inbox := startFlakySMTP(t, seed, 8*time.Millisecond)

	// A port with nothing listening: the first run creates and verifies
	// every coupon and cannot email any, so every kill below lands while
	// the run is emailing.
	deadLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := deadLn.Addr().(*net.TCPAddr).Port
	deadLn.Close()

	dir := t.TempDir()
	const n = 120
	want := writeCrashList(t, filepath.Join(dir, "list.csv"), n)
	config := func(smtpPort int) string {
		path := filepath.Join(dir, fmt.Sprintf("couponbridge-%d.yaml", smtpPort))
		writeFile(t, path, fmt.Sprintf(`store:
  url: %s
  consumer_key: %s
  consumer_secret: %s
  rate: 1000
  burst: 50
  concurrency: 2
  batch_size: 20
mail:
  transport: smtp
  from: {name: Shop, address: shop@example.com}
  smtp:
    host: 127.0.0.1
    port: %d
    tls: none
    auth: none
    connections: 2
    rate: 0
ledger:
  path: %s
campaigns:
  crash:
    codes: {prefix: CRASH-, pattern: XXXX-XXXX-XXXX}
    coupon:
      discount_type: percent
      amount: 10
      expiry: {days: 7}
`, srv.URL, wootest.DefaultKey, wootest.DefaultSecret, smtpPort, filepath.Join(dir, "ledger.db")))
		return path
	}
	run := func(cfg string, killAfter time.Duration) (exitCode int, killed bool, output string) {
		return runKillable(t, killAfter, 3*time.Minute, "issue", "--config", cfg,
			"--campaign", "crash", "--recipients", filepath.Join(dir, "list.csv"), "--log-level", "warn")
	}

	if code, _, out := run(config(deadPort), 0); code != exitError || !strings.Contains(lastLine(out), "connection refused") {
		t.Errorf("a run whose mail server is unreachable exited %d, want %d with the cause last; output:\n%s", code, exitError, out)
	}
	if got := inbox.count(); got != 0 {
		t.Fatalf("the mail server saw %d messages before it was used", got)
	}

	cfg := config(inbox.port)
	const maxKills = 15
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt > maxKills+10 {
			t.Fatalf("the job did not finish after %d runs", attempt)
		}
		var killAfter time.Duration
		if kills < maxKills {
			killAfter = time.Duration(40+rng.IntN(700)) * time.Millisecond
		} else {
			inbox.setFaults(false) // let the last run finish what is left
		}
		code, killed, out := run(cfg, killAfter)
		if killed {
			kills++
			continue
		}
		if code != exitOK && code != exitFailures {
			t.Fatalf("run %d exited %d, want 0 (or 3 with unconfirmed rows); output:\n%s", attempt, code, out)
		}
		break
	}

	ctx := context.Background()
	ledger, err := campaign.OpenLedger(ctx, filepath.Join(dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	traces := inbox.traces()
	states := map[campaign.State]int{}
	noTrace := 0
	for row, err := range ledger.Rows(ctx, "crash") {
		if err != nil {
			t.Fatal(err)
		}
		states[row.State]++
		tr := traces[row.Email]
		if len(tr.received) > 1 {
			t.Errorf("%s received %d copies of their email, want at most 1", row.Email, len(tr.received))
		}
		for _, code := range tr.received {
			if !strings.EqualFold(code, row.Code) {
				t.Errorf("%s received code %s, but their code is %s", row.Email, code, row.Code)
			}
		}
		switch row.State {
		case campaign.StateEmailed:
			if len(tr.received) != 1 {
				t.Errorf("%s is emailed in the ledger but the server holds %d copies, want 1", row.Email, len(tr.received))
			}
		case campaign.StateUnconfirmed:
			if len(tr.received) == 0 && tr.unfinished == 0 {
				noTrace++
				t.Logf("%s is unconfirmed but the server never had its data (%d clear refusals)", row.Email, tr.refused)
			}
		default:
			t.Errorf("%s ended in state %s, want emailed (or unconfirmed)", row.Email, row.State)
		}
	}
	if total := states[campaign.StateEmailed] + states[campaign.StateUnconfirmed]; total != n {
		t.Errorf("ledger rows: %v, want %d emailed or unconfirmed", states, n)
	}
	for email := range traces {
		if !want[email] {
			t.Errorf("an email went to %s, who is not on the list", email)
		}
	}
	// Rows waiting for a retry used to stay "sending" through the backoff,
	// so nearly every kill left one or two of them in doubt per connection.
	if noTrace > kills {
		t.Errorf("%d unconfirmed rows were never received by the server, after %d kills: want at most one per kill (only a kill between the sending mark and the transaction may leave one)", noTrace, kills)
	}
	t.Logf("%d kills; states %v; unconfirmed without a trace on the server: %d; server: %s", kills, states, noTrace, inbox.summary())
}

// flakySMTP is an in-process SMTP server that misbehaves as real ones do:
// it refuses some messages with 451 after reading them, drops the
// connection at RCPT (before any data) for others, and drops it after
// reading a whole message (which it keeps: the sender cannot know) for a
// few. It records, per recipient, what it received, what it clearly refused
// and transactions cut off by the client before a reply.
type flakySMTP struct {
	port  int
	delay time.Duration

	mu       sync.Mutex
	rng      *rand.Rand
	faults   bool
	bySender map[string]*smtpTrace
	stats    struct{ accepted, refused, droppedBefore, droppedAfter, unfinished int }
}

type smtpTrace struct {
	received   []string // codes of messages the server got whole (accepted, or dropped after the data)
	refused    int      // clear refusals (451, or the connection dropped before the data)
	unfinished int      // transactions the client abandoned before the server answered
}

func startFlakySMTP(t *testing.T, seed uint64, delay time.Duration) *flakySMTP {
	t.Helper()
	f := &flakySMTP{delay: delay, faults: true, rng: rand.New(rand.NewPCG(seed, 2)), bySender: map[string]*smtpTrace{}}
	s := smtp.NewServer(f)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return f
}

func (f *flakySMTP) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &flakySession{server: f, conn: c}, nil
}

func (f *flakySMTP) setFaults(on bool) {
	f.mu.Lock()
	f.faults = on
	f.mu.Unlock()
}

// roll reports whether a fault with probability p happens now.
func (f *flakySMTP) roll(p float64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults && f.rng.Float64() < p
}

func (f *flakySMTP) trace(rcpt string, fn func(*smtpTrace)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tr := f.bySender[rcpt]
	if tr == nil {
		tr = &smtpTrace{}
		f.bySender[rcpt] = tr
	}
	fn(tr)
}

func (f *flakySMTP) traces() map[string]smtpTrace {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]smtpTrace, len(f.bySender))
	for k, v := range f.bySender {
		c := *v
		c.received = append([]string(nil), v.received...)
		out[k] = c
	}
	return out
}

func (f *flakySMTP) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats.accepted + f.stats.droppedAfter
}

func (f *flakySMTP) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	return fmt.Sprintf("%d accepted, %d refused with 451, %d dropped before the data, %d dropped after it, %d abandoned by the client",
		s.accepted, s.refused, s.droppedBefore, s.droppedAfter, s.unfinished)
}

type flakySession struct {
	server *flakySMTP
	conn   *smtp.Conn
	rcpt   string // the recipient of the transaction in progress
}

func (s *flakySession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *flakySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	rcpt := strings.ToLower(to)
	if s.server.roll(0.05) {
		s.server.trace(rcpt, func(tr *smtpTrace) { tr.refused++ })
		s.server.mu.Lock()
		s.server.stats.droppedBefore++
		s.server.mu.Unlock()
		_ = s.conn.Close()
		return errors.New("connection dropped")
	}
	s.rcpt = rcpt
	return nil
}

func (s *flakySession) Data(r io.Reader) error {
	rcpt := s.rcpt
	s.rcpt = ""
	f := s.server
	raw, err := io.ReadAll(r)
	if err != nil {
		// The client was cut off in the middle of the data.
		f.trace(rcpt, func(tr *smtpTrace) { tr.unfinished++ })
		f.mu.Lock()
		f.stats.unfinished++
		f.mu.Unlock()
		return err
	}
	codes, err := messageCodes(raw)
	if err != nil {
		return err
	}
	switch {
	case f.roll(0.10):
		f.trace(rcpt, func(tr *smtpTrace) { tr.refused++ })
		f.mu.Lock()
		f.stats.refused++
		f.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	case f.roll(0.03):
		// Queued, then the connection is lost before the 250.
		f.trace(rcpt, func(tr *smtpTrace) { tr.received = append(tr.received, codes[0]) })
		f.mu.Lock()
		f.stats.droppedAfter++
		f.mu.Unlock()
		_ = s.conn.Close()
		return errors.New("connection dropped")
	}
	time.Sleep(f.delay)
	f.trace(rcpt, func(tr *smtpTrace) { tr.received = append(tr.received, codes[0]) })
	f.mu.Lock()
	f.stats.accepted++
	f.mu.Unlock()
	return nil
}

func (s *flakySession) Reset() { s.abandon() }

func (s *flakySession) Logout() error {
	s.abandon()
	return nil
}

// abandon records a transaction that reached RCPT and was cut off before
// its data arrived: the client was killed (or gave up) mid-transaction.
func (s *flakySession) abandon() {
	if s.rcpt == "" {
		return
	}
	rcpt := s.rcpt
	s.rcpt = ""
	s.server.trace(rcpt, func(tr *smtpTrace) { tr.unfinished++ })
	s.server.mu.Lock()
	s.server.stats.unfinished++
	s.server.mu.Unlock()
}
