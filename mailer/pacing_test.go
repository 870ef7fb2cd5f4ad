package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emersion/go-smtp"
)

// pipeListener is an in-memory net.Listener whose Dial hands the server one
// end of a net.Pipe: SMTP without sockets, so it runs under synctest.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }

func (l *pipeListener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startPipeServer serves ts over a pipeListener; the returned stop must run
// before the synctest bubble ends.
func startPipeServer(ts *testServer) (l *pipeListener, stop func()) {
	ts.rcptSeen, ts.dataSeen = map[string]int{}, map[string]int{}
	srv := smtp.NewServer(ts)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardSMTPLog{}
	l = newPipeListener()
	done := make(chan struct{})
	go func() { _ = srv.Serve(l); close(done) }()
	return l, func() { _ = srv.Close(); <-done }
}

type discardSMTPLog struct{}

func (discardSMTPLog) Printf(string, ...any) {}
func (discardSMTPLog) Println(...any)        {}

func pipeSender(t *testing.T, l *pipeListener, mod func(*SMTPConfig)) *SMTPSender {
	t.Helper()
	// net.Pipe has no buffer, so a pipelined client and a server writing its
	// first reply would wait on each other; TCP buffers make that moot.
	cfg := SMTPConfig{Host: "127.0.0.1", Port: 25, TLS: NoTLS, Auth: AuthNone, Connections: 1,
		RetryMin: time.Second, RetryMax: 10 * time.Second, NoPipelining: true}
	mod(&cfg)
	s, err := NewSMTPSender(cfg, WithDialer(l.Dial))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func messages(n int) []Message {
	var msgs []Message
	for i := range n {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("r%d@example.net", i)))
	}
	return msgs
}

func TestSMTPPacesMessagesAtTheConfiguredRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.RatePerSecond, c.Connections = 2, 2 })
		defer s.Close()
		rec := newRecorder(t)
		start := time.Now()
		if err := s.Send(context.Background(), messages(5), rec.report); err != nil {
			t.Fatal(err)
		}
		// 5 messages at 2/s across both connections: the first at once, then one every 500ms.
		if got := time.Since(start).Truncate(time.Millisecond); got != 2*time.Second { // the recorder sleeps 50µs per report
			t.Errorf("5 messages at 2/s took %v, want 2s", got)
		}
		if n := len(ts.Delivered()); n != 5 {
			t.Errorf("%d delivered, want 5", n)
		}
	})
}

func TestSMTPBacksOffBetweenRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		ts.onRcpt = func(to string, n int, _ func()) error {
			if n <= 2 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted"}
			}
			return nil
		}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.Retries = 3 })
		defer s.Close()
		rec := newRecorder(t)
		start := time.Now()
		if err := s.Send(context.Background(), messages(1), rec.report); err != nil {
			t.Fatal(err)
		}
		if r := rec.get("key-0"); r.Status != Delivered {
			t.Fatalf("%+v, want Delivered on the third attempt", r)
		}
		// Backoff 1s then 2s, each ±20%.
		if got := time.Since(start); got < 2400*time.Millisecond || got > 3600*time.Millisecond {
			t.Errorf("two retries took %v, want about 3s (1s + 2s backoff)", got)
		}
	})
}

func TestSMTPWaitsForACapSlotWithinCapWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.PerHour, c.CapWait = 2, 2*time.Hour })
		defer s.Close()
		rec := newRecorder(t)
		start := time.Now()
		if err := s.Send(context.Background(), messages(3), rec.report); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"key-0", "key-1", "key-2"} {
			if r := rec.get(k); r.Status != Delivered {
				t.Errorf("%s: %+v, want Delivered", k, r)
			}
		}
		if got := time.Since(start).Truncate(time.Millisecond); got != time.Hour {
			t.Errorf("third message of a 2-per-hour cap sent after %v, want 1h", got)
		}
	})
}

func TestSMTPDoesNotWaitForACapSlotPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.PerHour, c.CapWait = 1, 24*time.Hour })
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		rec := newRecorder(t)
		start := time.Now()
		if err := s.Send(ctx, messages(2), rec.report); err != nil {
			t.Fatal(err)
		}
		if r := rec.get("key-1"); r.Status != TempFailure || !errors.Is(r.Err, ErrCapReached) {
			t.Errorf("%+v, want TempFailure wrapping ErrCapReached", r)
		}
		if got := time.Since(start).Truncate(time.Millisecond); got != 0 {
			t.Errorf("waited %v for a slot the deadline would not reach, want no wait", got)
		}
	})
}
