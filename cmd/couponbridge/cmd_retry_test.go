package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// bouncingSMTP is an in-process SMTP server on loopback that refuses one
// mailbox with 550 until it is fixed, and records the codes each recipient
// received.
type bouncingSMTP struct {
	port int

	mu       sync.Mutex
	bounce   string
	received map[string][]string
}

var retryCodePattern = regexp.MustCompile(`(?i)welcome-[0-9a-z-]+`)

func startBouncingSMTP(t *testing.T, bounce string) *bouncingSMTP {
	t.Helper()
	b := &bouncingSMTP{bounce: bounce, received: map[string][]string{}}
	s := smtp.NewServer(b)
	s.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return b
}

func (b *bouncingSMTP) fix() {
	b.mu.Lock()
	b.bounce = ""
	b.mu.Unlock()
}

func (b *bouncingSMTP) codesOf(email string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.received[email]...)
}

func (b *bouncingSMTP) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &bouncingSession{server: b}, nil
}

type bouncingSession struct {
	server *bouncingSMTP
	rcpts  []string
}

func (s *bouncingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *bouncingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.ToLower(to)
	s.server.mu.Lock()
	bounce := s.server.bounce
	s.server.mu.Unlock()
	if to == bounce {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *bouncingSession) Reset()        { s.rcpts = nil }
func (s *bouncingSession) Logout() error { return nil }
func (s *bouncingSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	code := retryCodePattern.FindString(string(raw))
	s.server.mu.Lock()
	defer s.server.mu.Unlock()
	for _, to := range s.rcpts {
		s.server.received[to] = append(s.server.received[to], strings.ToLower(code))
	}
	return nil
}

// useSMTP points the sandbox configuration's mail at an SMTP server on
// loopback instead of the outbox.
func (s *sandboxSetup) useSMTP(t *testing.T, port int) {
	t.Helper()
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	smtpCfg := fmt.Sprintf("  transport: smtp\n  smtp: {host: 127.0.0.1, port: %d, tls: none, auth: none, connections: 1, rate: 0}\n", port)
	text := strings.Replace(string(cfg), "  transport: outbox\n  outbox_dir: outbox\n", smtpCfg, 1)
	if text == string(cfg) {
		t.Fatal("test config: the mail transport was not found")
	}
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRetryCommandFinishesABouncedRecipientWithTheSameCode(t *testing.T) {
	s := newSandboxSetup(t)
	mail := startBouncingSMTP(t, "bob@example.com")
	s.useSMTP(t, mail.port)
	list := s.writeList(t, "list.csv", "email,first_name,city\nann@example.com,Ann,Berlin\nbob@example.com,Bob,Paris\n")

	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitFailures)
	r = s.run(t, t.Context(), "status", "welcome")
	wantCode(t, r, exitFailures)
	if !strings.Contains(r.stdout, "couponbridge retry --campaign welcome") {
		t.Errorf("status does not say how to finish the failed row:\n%v", r)
	}
	r = s.run(t, t.Context(), "resend", "--campaign", "welcome", "--email", "bob@example.com")
	if r.code == exitOK || !strings.Contains(r.stderr, "couponbridge retry --campaign welcome --email bob@example.com") {
		t.Errorf("resend of a failed row must refuse and name the retry command:\n%v", r)
	}
	// issue again does not finish it.
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitFailures)
	coupons := len(s.store.Coupons())

	// The mailbox is fixed: retry sends bob his code, the one he was issued.
	mail.fix()
	r = s.run(t, t.Context(), "retry", "--campaign", "welcome")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?i)email again +bob@example\.com +welcome-\S+ +email +mail refused: 550`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "In all: 1 email again.") || !strings.Contains(r.stdout, "2 emailed, 0 pending, 0 unconfirmed, 0 failed") {
		t.Errorf("retry output:\n%v", r)
	}
	codes := mail.codesOf("bob@example.com")
	var issued string
	for _, c := range s.store.Coupons() {
		if len(c.EmailRestrictions) == 1 && c.EmailRestrictions[0] == "bob@example.com" {
			issued = c.Code
		}
	}
	if len(codes) != 1 || codes[0] != issued {
		t.Errorf("bob received %q; want his issued code %s once", codes, issued)
	}
	if len(s.store.Coupons()) != coupons || len(mail.codesOf("ann@example.com")) != 1 {
		t.Errorf("retry created coupons (%d, was %d) or emailed ann again (%d)", len(s.store.Coupons()), coupons, len(mail.codesOf("ann@example.com")))
	}

	// Nothing left: retry says so.
	r = s.run(t, t.Context(), "retry", "--campaign", "welcome")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "No failed rows to retry in campaign welcome.") {
		t.Errorf("second retry:\n%v", r)
	}
	r = s.run(t, t.Context(), "retry", "--campaign", "welcome", "--stage", "plan")
	wantCode(t, r, exitUsage)
}
