package campaign

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/mailer"
)

// captureSMTP is an in-process SMTP server on loopback that keeps every
// message it accepts.
type captureSMTP struct {
	addr string
	mu   sync.Mutex
	msgs []capturedMail
}

type capturedMail struct {
	To  []string
	Raw []byte
}

func startCaptureSMTP(t *testing.T) *captureSMTP {
	t.Helper()
	c := &captureSMTP{}
	srv := smtp.NewServer(c)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

func (c *captureSMTP) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &captureSession{srv: c}, nil
}

// to returns the messages accepted for email, parsed, in order.
func (c *captureSMTP) to(t *testing.T, email string) []*mail.Message {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*mail.Message
	for _, m := range c.msgs {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, email) {
				pm, err := mail.ReadMessage(bytes.NewReader(m.Raw))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, pm)
			}
		}
	}
	return out
}

type captureSession struct {
	srv *captureSMTP
	to  []string
}

func (s *captureSession) Reset()                               { s.to = nil }
func (s *captureSession) Logout() error                        { return nil }
func (s *captureSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *captureSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, capturedMail{To: s.to, Raw: raw})
	s.srv.mu.Unlock()
	return nil
}

func bodyOf(t *testing.T, m *mail.Message) string {
	t.Helper()
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Over a real SMTP session: the resend carries the code of the first email
// under a Message-ID of its own that refers to the first, the reminder its
// own Message-ID and the code.
func TestResendAndReminderOverSMTP(t *testing.T) {
	e := newTrackingEnv(t)
	srv := startCaptureSMTP(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	portN, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mailer.NewSMTPSender(mailer.SMTPConfig{Host: host, Port: portN, TLS: mailer.NoTLS, Auth: mailer.AuthNone,
		Connections: 1, RatePerSecond: 1000, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, sender, "ann@shop.test")
	code := e.tracked("welcome", "ann@shop.test").Code

	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: sender, Now: e.clock.Now}
	if _, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	rem := &Reminders{Syncer: e.syncer(), Mail: sender}
	if res, err := rem.Run(e.ctx, c, reminderSpec(t, 3)); err != nil || res.Sent != 1 {
		t.Fatalf("reminder run: %+v, %v", res, err)
	}
	got := srv.to(t, "ann@shop.test")
	if len(got) != 3 {
		t.Fatalf("messages to ann = %d, want first email, resend, reminder", len(got))
	}
	first, again, reminder := got[0], got[1], got[2]
	id := first.Header.Get("Message-ID")
	if id == "" || again.Header.Get("Message-ID") == id || again.Header.Get("References") != id || again.Header.Get("In-Reply-To") != id {
		t.Errorf("resend Message-ID %q References %q In-Reply-To %q, want a new ID referring to the first email's %q",
			again.Header.Get("Message-ID"), again.Header.Get("References"), again.Header.Get("In-Reply-To"), id)
	}
	if reminder.Header.Get("Message-ID") == id {
		t.Error("reminder reuses the first email's Message-ID")
	}
	for name, m := range map[string]*mail.Message{"first": first, "resend": again, "reminder": reminder} {
		if body := bodyOf(t, m); !strings.Contains(body, code) {
			t.Errorf("%s email lacks code %s", name, code)
		}
	}
}
