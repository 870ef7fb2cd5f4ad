package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestIssueSurvivesSIGKILL runs `couponbridge issue` as a subprocess and
// kills it with SIGKILL at random moments, again and again, then lets a run
// finish. Whatever the moments, the promises hold: every recipient has
// exactly one coupon in the store, locked to their email; every code was
// read back before it was mailed; each recipient got their own code at most
// once, and exactly once unless the ledger shows the row as unconfirmed (a
// kill between the mail server's acceptance and the ledger write).
func TestIssueSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns a subprocess many times; skipped in -short")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	store := wootest.NewStore()
	// Slow enough that kills land in every stage: planning, batches in
	// flight, read-back, and mail handed to the server.
	store.SetFaults(wootest.Faults{Latency: 5 * time.Millisecond, ItemLatency: 2 * time.Millisecond, ErrorRatio: 0.03, Seed: int64(seed)})
	srv := httptest.NewServer(store)
	defer srv.Close()
	inbox := startRecordingSMTP(t, 3*time.Millisecond)

	dir := t.TempDir()
	const n = 240
	want := writeCrashList(t, filepath.Join(dir, "list.csv"), n)
	writeFile(t, filepath.Join(dir, "couponbridge.yaml"), fmt.Sprintf(`store:
  url: %s
  consumer_key: %s
  consumer_secret: %s
  rate: 1000
  burst: 50
  concurrency: 3
  batch_size: 10
  unclear_hold: 200ms
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
  path: ledger.db
campaigns:
  crash:
    codes: {prefix: CRASH-, pattern: XXXX-XXXX-XXXX}
    coupon:
      discount_type: percent
      amount: 10
      expiry: {days: 7}
`, srv.URL, wootest.DefaultKey, wootest.DefaultSecret, inbox.port))

	run := func(killAfter time.Duration) (exitCode int, killed bool, output string) {
		return runKillable(t, killAfter, 2*time.Minute, "issue", "--config", filepath.Join(dir, "couponbridge.yaml"),
			"--campaign", "crash", "--recipients", filepath.Join(dir, "list.csv"), "--log-level", "warn")
	}

	// Kill the first runs at random moments, then let one run to the end.
	// Each killed run makes some progress before the kill, so the job
	// moves through every stage while being killed.
	const maxKills = 12
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt > maxKills+10 {
			t.Fatalf("the job did not finish after %d runs", attempt)
		}
		var killAfter time.Duration
		if kills < maxKills {
			// Shorter than a whole run even without -race (about 0.8 s:
			// 240 messages at 3 ms over 2 connections, batches with
			// latency), so every kill lands on a running process.
			killAfter = time.Duration(15+rng.IntN(450)) * time.Millisecond
		}
		code, killed, out := run(killAfter)
		if killed {
			kills++
			continue
		}
		if code != exitOK && code != exitFailures {
			t.Fatalf("run %d exited %d, want 0 (or 3 with unconfirmed rows); output:\n%s", attempt, code, out)
		}
		t.Logf("finished after %d runs, %d of them killed; last exit %d", attempt+1, kills, code)
		break
	}
	if kills == 0 {
		t.Fatal("no run was killed: the kill schedule never hit a running process")
	}

	// The store: exactly one published coupon per recipient, locked to them.
	byEmail := map[string][]wootest.CouponSnapshot{}
	for _, c := range store.Coupons() {
		if c.Status != "publish" {
			continue
		}
		if len(c.EmailRestrictions) != 1 {
			t.Errorf("coupon %s has email restrictions %v, want exactly one", c.Code, c.EmailRestrictions)
			continue
		}
		if c.UsageLimit != 1 || c.UsageLimitPerUser != 1 {
			t.Errorf("coupon %s: usage limits %d/%d, want 1/1", c.Code, c.UsageLimit, c.UsageLimitPerUser)
		}
		byEmail[c.EmailRestrictions[0]] = append(byEmail[c.EmailRestrictions[0]], c)
	}
	for email := range want {
		if got := len(byEmail[email]); got != 1 {
			t.Errorf("%s has %d coupons in the store, want exactly 1", email, got)
		}
	}
	if len(byEmail) != n {
		t.Errorf("coupons exist for %d emails, want %d", len(byEmail), n)
	}

	// The ledger agrees with the store, and every row is finished.
	ctx := context.Background()
	ledger, err := campaign.OpenLedger(ctx, filepath.Join(dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	states := map[campaign.State]int{}
	received := inbox.byRecipient()
	for row, err := range ledger.Rows(ctx, "crash") {
		if err != nil {
			t.Fatal(err)
		}
		states[row.State]++
		coupons := byEmail[row.Email]
		if len(coupons) == 1 && !strings.EqualFold(coupons[0].Code, row.Code) {
			t.Errorf("%s: ledger code %s, store code %s", row.Email, row.Code, coupons[0].Code)
		}
		got := received[row.Email]
		switch row.State {
		case campaign.StateEmailed:
			if len(got) != 1 {
				t.Errorf("%s is emailed in the ledger but received %d emails, want 1", row.Email, len(got))
			}
		case campaign.StateUnconfirmed:
			if len(got) > 1 {
				t.Errorf("%s (unconfirmed) received %d emails, want at most 1", row.Email, len(got))
			}
		default:
			t.Errorf("%s ended in state %s, want emailed (or unconfirmed)", row.Email, row.State)
		}
		for _, code := range got {
			if !strings.EqualFold(code, row.Code) {
				t.Errorf("%s received code %s, but their code is %s", row.Email, code, row.Code)
			}
		}
	}
	if total := states[campaign.StateEmailed] + states[campaign.StateUnconfirmed]; total != n {
		t.Errorf("ledger rows: %v, want %d emailed or unconfirmed", states, n)
	}
	for email := range received {
		if !want[email] {
			t.Errorf("an email went to %s, who is not on the list", email)
		}
	}
	// A row is marked sending only as its own message is handed over, so a
	// kill can leave in doubt at most one message per SMTP connection.
	const connections = 2
	if u := states[campaign.StateUnconfirmed]; u > kills*connections {
		t.Errorf("%d rows unconfirmed after %d kills, want at most %d (one per connection per kill)", u, kills, kills*connections)
	}
	t.Logf("states after the last run: %v; SMTP messages received: %d", states, inbox.count())
}

// runKillable runs couponbridge with args as a subprocess and SIGKILLs it
// after killAfter (0: never); a run longer than limit fails the test.
func runKillable(t *testing.T, killAfter, limit time.Duration, args ...string) (exitCode int, killed bool, output string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if killAfter > 0 {
		timer = time.After(killAfter)
	}
	select {
	case err := <-done:
		return exitStatus(t, err), false, out.String()
	case <-timer:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return -1, true, out.String()
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		t.Fatalf("a run took over %v; output:\n%s", limit, out.String())
	}
	return 0, false, ""
}

// writeCrashList writes a recipients list of n people to path and returns
// their addresses.
func writeCrashList(t *testing.T, path string, n int) map[string]bool {
	t.Helper()
	var list strings.Builder
	list.WriteString("email,first_name\n")
	want := map[string]bool{}
	for i := range n {
		email := fmt.Sprintf("person%03d@example.com", i)
		want[email] = true
		fmt.Fprintf(&list, "%s,Person%d\n", email, i)
	}
	writeFile(t, path, list.String())
	return want
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordingSMTP is an in-process SMTP server (127.0.0.1:0) that records the
// coupon codes each recipient received.
type recordingSMTP struct {
	port  int
	delay time.Duration

	mu       sync.Mutex
	received map[string][]string // recipient → codes, one entry per message
	messages int
}

var crashCodePattern = regexp.MustCompile(`CRASH-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`)

func startRecordingSMTP(t *testing.T, delay time.Duration) *recordingSMTP {
	t.Helper()
	r := &recordingSMTP{delay: delay, received: map[string][]string{}}
	s := smtp.NewServer(r)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return r
}

func (r *recordingSMTP) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &recordingSession{server: r}, nil
}

func (r *recordingSMTP) byRecipient() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.received))
	for k, v := range r.received {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (r *recordingSMTP) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.messages
}

type recordingSession struct {
	server *recordingSMTP
	rcpts  []string
}

func (s *recordingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *recordingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, strings.ToLower(to))
	return nil
}
func (s *recordingSession) Reset()        { s.rcpts = nil }
func (s *recordingSession) Logout() error { return nil }

// Data accepts the message after a short delay (a real server takes time
// to answer, which is when a kill leaves a row unconfirmed) and records
// the code it carries. A message whose parts do not all carry the same
// single code is refused, so the sender's report would show it.
func (s *recordingSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	codes, err := messageCodes(raw)
	if err != nil {
		return err
	}
	time.Sleep(s.server.delay)
	s.server.mu.Lock()
	defer s.server.mu.Unlock()
	s.server.messages++
	for _, rcpt := range s.rcpts {
		s.server.received[rcpt] = append(s.server.received[rcpt], codes[0])
	}
	return nil
}

// messageCodes decodes every text part of a MIME message and returns the
// distinct codes it found; more or fewer than one is an error.
func messageCodes(raw []byte) ([]string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	var walk func(h map[string][]string, body io.Reader) error
	walk = func(h map[string][]string, body io.Reader) error {
		ct := mail.Header(h).Get("Content-Type")
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = "text/plain"
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := walk(p.Header, p); err != nil {
					return err
				}
			}
		}
		switch strings.ToLower(mail.Header(h).Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		text, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		for _, c := range crashCodePattern.FindAllString(string(text), -1) {
			found[c] = true
		}
		return nil
	}
	if err := walk(msg.Header, msg.Body); err != nil {
		return nil, err
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("message carries %d distinct codes, want 1", len(found))
	}
	for c := range found {
		return []string{c}, nil
	}
	return nil, nil
}
