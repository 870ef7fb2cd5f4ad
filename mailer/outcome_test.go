package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emersion/go-smtp"
)

// attemptLog records, per message key, the calls of Prepare and Released in
// order.
type attemptLog struct {
	mu     sync.Mutex
	events map[string][]string
}

func newAttemptLog() *attemptLog { return &attemptLog{events: map[string][]string{}} }

// hook sets Prepare and Released of every message to record into a.
func (a *attemptLog) hook(msgs []Message) []Message {
	for i := range msgs {
		key := msgs[i].Key
		msgs[i].Prepare = func() error { a.add(key, "prepare"); return nil }
		msgs[i].Released = func() { a.add(key, "released") }
	}
	return msgs
}

func (a *attemptLog) add(key, event string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events[key] = append(a.events[key], event)
}

func (a *attemptLog) of(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.events[key], " ")
}

func TestSMTPMessageDroppedAfterTheDotIsNeverSentTwice(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		for _, retries := range []int{3, -1} {
			t.Run(fmt.Sprintf("pipelining=%v/retries=%d", pipelining, retries), func(t *testing.T) {
				ts := startServer(t, nil, false)
				// The server has read the whole message, queues it, and drops
				// the connection before its 250.
				var queued atomic.Int32
				ts.onData = func(to string, n int, drop func()) error {
					if strings.HasPrefix(to, "drop@") {
						queued.Add(1)
						drop()
						return errDropped
					}
					return nil
				}
				s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.Retries, c.NoPipelining = 1, retries, !pipelining })
				rec := newRecorder(t)
				log := newAttemptLog()
				msgs := log.hook([]Message{testMessage(0, "drop@example.net"), testMessage(1, "next@example.net")})
				if err := s.Send(context.Background(), msgs, rec.report); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if n := queued.Load(); n != 1 {
					t.Errorf("server received the dropped message %d times, want exactly 1", n)
				}
				r := rec.get("key-0")
				if r.Status != OutcomeUnknown || r.Err == nil || r.Status.String() != "outcome unknown" {
					t.Errorf("dropped after the dot: %v %q (%v), want outcome unknown with an error", r.Status, r.Reply, r.Err)
				}
				if got := log.of("key-0"); got != "prepare" {
					t.Errorf("Prepare/Released calls %q, want one prepare and no release", got)
				}
				if r := rec.get("key-1"); r.Status != Delivered {
					t.Errorf("next message: %+v, want Delivered over a new connection", r)
				}
			})
		}
	}
}

func TestSMTPTimeoutAfterTheDotIsOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		ts.onData = func(to string, n int, _ func()) error {
			time.Sleep(time.Minute) // a server that takes the message and hangs
			return nil
		}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.Retries, c.Timeout = 3, 5*time.Second })
		defer s.Close()
		rec := newRecorder(t)
		log := newAttemptLog()
		if err := s.Send(context.Background(), log.hook(messages(1)), rec.report); err != nil {
			t.Fatal(err)
		}
		if r := rec.get("key-0"); r.Status != OutcomeUnknown || !errors.Is(r.Err, os.ErrDeadlineExceeded) {
			t.Errorf("%v %q (%v), want OutcomeUnknown from the timeout", r.Status, r.Reply, r.Err)
		}
		if got := log.of("key-0"); got != "prepare" {
			t.Errorf("Prepare/Released calls %q, want one prepare (no retry)", got)
		}
		time.Sleep(time.Minute) // let the server finish before the bubble ends
	})
}

func TestSMTPPrepareRunsBeforeEveryAttemptAndReleasedBeforeEachRetry(t *testing.T) {
	greylisted := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted"}
	for _, pipelining := range []bool{true, false} {
		for _, stage := range []string{"RCPT", "DATA"} {
			t.Run(fmt.Sprintf("pipelining=%v/451 to %s", pipelining, stage), func(t *testing.T) {
				ts := startServer(t, nil, false)
				once := func(_ string, n int, _ func()) error {
					if n == 1 {
						return greylisted
					}
					return nil
				}
				if stage == "RCPT" {
					ts.onRcpt = once
				} else {
					ts.onData = once
				}
				s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.Retries, c.NoPipelining = 1, 3, !pipelining })
				rec := newRecorder(t)
				log := newAttemptLog()
				if err := s.Send(context.Background(), log.hook(messages(1)), rec.report); err != nil {
					t.Fatal(err)
				}
				if r := rec.get("key-0"); r.Status != Delivered {
					t.Errorf("%+v, want Delivered on the second attempt", r)
				}
				if got := log.of("key-0"); got != "prepare released prepare" {
					t.Errorf("calls %q, want \"prepare released prepare\"", got)
				}
				if n := len(ts.Delivered()); n != 1 {
					t.Errorf("%d delivered, want 1", n)
				}
			})
		}
	}
}

func TestSMTPReleasedIsNotCalledForTheLastAttempt(t *testing.T) {
	ts := startServer(t, nil, false)
	ts.onRcpt = func(string, int, func()) error {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	}
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.Retries = 1, 2 })
	rec := newRecorder(t)
	log := newAttemptLog()
	if err := s.Send(context.Background(), log.hook(messages(1)), rec.report); err != nil {
		t.Fatal(err)
	}
	if r := rec.get("key-0"); r.Status != TempFailure {
		t.Errorf("%+v, want TempFailure after the retries", r)
	}
	if got, want := log.of("key-0"), "prepare released prepare released prepare"; got != want {
		t.Errorf("calls %q, want %q (the last attempt is reported, not released)", got, want)
	}
}

// cutConn breaks the connection in the middle of the first write that
// carries marker, as a connection reset while the body is being sent.
type cutConn struct {
	net.Conn
	marker string
	cut    *atomic.Bool
}

func (c cutConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.marker)) && c.cut.CompareAndSwap(false, true) {
		n, _ := c.Conn.Write(p[:len(p)/2])
		_ = c.Conn.Close()
		return n, &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return c.Conn.Write(p)
}

func TestSMTPConnectionLostInTheBodyIsRetriedAndDeliveredOnce(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			ts := startServer(t, nil, false)
			var cut atomic.Bool
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return cutConn{Conn: c, marker: "Your code: CODE-0000", cut: &cut}, nil
			}
			s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.Retries, c.NoPipelining = 1, 3, !pipelining }, WithDialer(dial))
			rec := newRecorder(t)
			log := newAttemptLog()
			if err := s.Send(context.Background(), log.hook(messages(1)), rec.report); err != nil {
				t.Fatal(err)
			}
			if !cut.Load() {
				t.Fatal("the connection was never cut; the test proves nothing")
			}
			if r := rec.get("key-0"); r.Status != Delivered {
				t.Errorf("%v %q (%v), want Delivered after a retry", r.Status, r.Reply, r.Err)
			}
			if got := log.of("key-0"); got != "prepare released prepare" {
				t.Errorf("calls %q, want \"prepare released prepare\"", got)
			}
			if n := len(ts.Delivered()); n != 1 {
				t.Errorf("%d delivered, want exactly 1", n)
			}
		})
	}
}

// TestSMTPServerDropInTheBodyIsRetriedAndDeliveredOnce drops the connection
// from the server's side while it reads the body; over an unbuffered pipe
// the client sees its write fail before the final ".".
func TestSMTPServerDropInTheBodyIsRetriedAndDeliveredOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		ts.onBody = func(to string, n int) bool { return n == 1 }
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.Retries = 3 })
		defer s.Close()
		rec := newRecorder(t)
		log := newAttemptLog()
		msgs := log.hook(messages(1))
		msgs[0].Text = strings.Repeat("A long body line that takes several writes to send.\n", 1000)
		if err := s.Send(context.Background(), msgs, rec.report); err != nil {
			t.Fatal(err)
		}
		if r := rec.get("key-0"); r.Status != Delivered {
			t.Errorf("%v %q (%v), want Delivered after a retry", r.Status, r.Reply, r.Err)
		}
		if got := log.of("key-0"); got != "prepare released prepare" {
			t.Errorf("calls %q, want \"prepare released prepare\"", got)
		}
		if n := len(ts.Delivered()); n != 1 {
			t.Errorf("%d delivered, want exactly 1", n)
		}
	})
}

func TestSMTPOutcomeUnknownKeepsItsCapSlot(t *testing.T) {
	ts := startServer(t, nil, false)
	ts.onData = func(to string, n int, drop func()) error {
		if strings.HasPrefix(to, "drop@") {
			drop()
			return errDropped
		}
		return nil
	}
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.PerHour = 1, 2 })
	rec := newRecorder(t)
	msgs := []Message{testMessage(0, "drop@example.net"), testMessage(1, "a@example.net"), testMessage(2, "b@example.net")}
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatal(err)
	}
	want := []Status{OutcomeUnknown, Delivered, TempFailure}
	for i, m := range msgs {
		if r := rec.get(m.Key); r.Status != want[i] {
			t.Errorf("%s: %v %q, want %v", m.To.Email, r.Status, r.Reply, want[i])
		}
	}
	if r := rec.get("key-2"); !errors.Is(r.Err, ErrCapReached) {
		t.Errorf("third message: %v, want ErrCapReached (the unknown one may have been delivered)", r.Err)
	}
}
