package campaign

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/mailer"
)

// issErrTempSMTP is a 4xx reply to RCPT.
var issErrTempSMTP = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}

// issSMTPServer is an in-process SMTP server on loopback that accepts every
// message unless onRcpt refuses the recipient (n counts the recipient's
// RCPT commands from 1), and counts accepted messages per recipient.
type issSMTPServer struct {
	port   int
	onRcpt func(to string, n int) error
	// dropAfterData, when set, says for which recipient the server takes
	// the whole message (and counts it accepted) but drops the connection
	// instead of answering 250: the client cannot know it was queued.
	dropAfterData func(to string) bool

	mu       sync.Mutex
	rcpts    map[string]int
	accepted map[string]int
}

func issStartSMTP(t testing.TB, onRcpt func(to string, n int) error) *issSMTPServer {
	t.Helper()
	s := &issSMTPServer{onRcpt: onRcpt, rcpts: map[string]int{}, accepted: map[string]int{}}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// accepted returns how many messages the server accepted for email.
func (s *issSMTPServer) acceptedFor(email string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[strings.ToLower(email)]
}

func (s *issSMTPServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &issSMTPSession{srv: s, conn: c}, nil
}

type issSMTPSession struct {
	srv  *issSMTPServer
	conn *smtp.Conn
	to   []string
}

func (ss *issSMTPSession) Reset()        { ss.to = nil }
func (ss *issSMTPSession) Logout() error { return nil }
func (ss *issSMTPSession) Mail(string, *smtp.MailOptions) error {
	return nil
}

func (ss *issSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.ToLower(to)
	ss.srv.mu.Lock()
	ss.srv.rcpts[to]++
	n := ss.srv.rcpts[to]
	ss.srv.mu.Unlock()
	if ss.srv.onRcpt != nil {
		if err := ss.srv.onRcpt(to, n); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *issSMTPSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.srv.mu.Lock()
	drop := false
	for _, to := range ss.to {
		ss.srv.accepted[to]++
		drop = drop || (ss.srv.dropAfterData != nil && ss.srv.dropAfterData(to))
	}
	ss.srv.mu.Unlock()
	if drop {
		ss.conn.Conn().Close()
	}
	return nil
}

// issSMTPSender is a real SMTP sender to srv that retries quickly.
func issSMTPSender(t testing.TB, srv *issSMTPServer, retries int) *mailer.SMTPSender {
	t.Helper()
	sender, err := mailer.NewSMTPSender(mailer.SMTPConfig{Host: "127.0.0.1", Port: srv.port, TLS: mailer.NoTLS,
		Auth: mailer.AuthNone, Connections: 1, Retries: retries, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	return sender
}

func TestMailOutcomeUnknownBecomesUnconfirmedNotResent(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	lost := issEmail(2)
	srv := issStartSMTP(t, nil)
	srv.dropAfterData = func(to string) bool { return to == lost }
	h.mail = &issCountingSender{next: issSMTPSender(t, srv, 3)}
	c := issCampaign("unknown")
	const n = 6
	opts := issOptions()
	opts.MailPasses = 3
	res, err := h.issuer(opts, nil, nil).Run(ctx, c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.ThisRun.Unconfirmed != 1 || res.Count(StateUnconfirmed) != 1 {
		t.Errorf("first run: %+v, summary %v; want the lost message unconfirmed at once", res.ThisRun, res.Counts)
	}
	// A later run must leave it alone too.
	res, err = h.issuer(opts, nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.acceptedFor(lost); got != 1 {
		t.Errorf("the server received %d copies of the message whose answer was lost; want exactly 1", got)
	}
	row, _, _ := h.ledger.Issue(ctx, c.Name, lost)
	if row.State != StateUnconfirmed || !strings.Contains(row.LastError, "may or may not") {
		t.Errorf("%s: state %s (%s); want unconfirmed", lost, row.State, row.LastError)
	}
	if res.Count(StateEmailed) != n-1 || res.Count(StateUnconfirmed) != 1 {
		t.Errorf("summary %v; want %d emailed and 1 unconfirmed", res.Counts, n-1)
	}
}

// issReleaseProbe passes messages on, calling probe(key) right after the
// pipeline's Released hook: while the sender waits to retry.
type issReleaseProbe struct {
	next  MailSender
	probe func(key string)
}

func (p issReleaseProbe) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for i := range msgs {
		key, released := msgs[i].Key, msgs[i].Released
		msgs[i].Released = func() {
			if released != nil {
				released()
			}
			p.probe(key)
		}
	}
	return p.next.Send(ctx, msgs, report)
}

func TestRowWaitingForMailRetryIsNotUnconfirmed(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	greylisted := issEmail(1)
	srv := issStartSMTP(t, func(to string, n int) error {
		if to == greylisted && n <= 2 {
			return issErrTempSMTP
		}
		return nil
	})
	c := issCampaign("waiting")
	probed := 0
	mail := issReleaseProbe{next: issSMTPSender(t, srv, 3), probe: func(key string) {
		probed++
		// A process killed now would leave the row as it is in the ledger.
		for row, err := range h.ledger.Rows(ctx, c.Name) {
			if err != nil {
				t.Error(err)
				return
			}
			if strconv.FormatInt(row.ID, 10) == key && row.State != StateVerified {
				t.Errorf("%s waits for a retry in state %s; want verified (a crash now must not make it unconfirmed)", row.Email, row.State)
			}
		}
	}}
	h.mail = &issCountingSender{next: mail}
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(4)))
	if err != nil {
		t.Fatal(err)
	}
	if probed != 2 {
		t.Errorf("the sender released %d times; want 2 (two 451s, then accepted)", probed)
	}
	row, _, _ := h.ledger.Issue(ctx, c.Name, greylisted)
	if row.State != StateEmailed || row.MailAttempts != 1 || srv.acceptedFor(greylisted) != 1 {
		t.Errorf("%s: state %s, %d attempts, accepted %d times; want emailed once, 1 attempt counted",
			row.Email, row.State, row.MailAttempts, srv.acceptedFor(greylisted))
	}
	if res.Count(StateEmailed) != 4 {
		t.Errorf("summary %v; want all 4 emailed", res.Counts)
	}
}
