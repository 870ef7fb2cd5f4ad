package campaign

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// issErrTempSMTP is a 4xx reply to RCPT.
var issErrTempSMTP = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}

// issSMTPServer is an in-process SMTP server on loopback that accepts every
// message unless onRcpt refuses the recipient (n counts the recipient's
// RCPT commands from 1), and counts accepted messages per recipient.
type issSMTPServer struct {
	port   int
	onRcpt func(to string, n int) error

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

func (s *issSMTPServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &issSMTPSession{srv: s}, nil
}

type issSMTPSession struct {
	srv *issSMTPServer
	to  []string
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
	defer ss.srv.mu.Unlock()
	for _, to := range ss.to {
		ss.srv.accepted[to]++
	}
	return nil
}
