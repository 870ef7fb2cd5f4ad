package mailer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// sendAll sends msgs and returns the status of each, in order.
func sendAll(t *testing.T, s *SMTPSender, msgs []Message) []Result {
	t.Helper()
	rec := newRecorder(t)
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var out []Result
	for _, m := range msgs {
		out = append(out, rec.get(m.Key))
	}
	return out
}

func renamed(msgs []Message, prefix string) []Message {
	for i := range msgs {
		msgs[i].Key = prefix + msgs[i].Key
	}
	return msgs
}

func TestSMTPSetLimitsKeepsTheHourlyCountAcrossAReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.PerHour = 3 })
		defer s.Close()
		for _, r := range sendAll(t, s, messages(3)) {
			if r.Status != Delivered {
				t.Fatalf("%+v, want Delivered within the cap", r)
			}
		}
		time.Sleep(10 * time.Minute)
		if err := s.SetLimits(Limits{PerHour: 4}); err != nil {
			t.Fatal(err)
		}
		got := sendAll(t, s, renamed(messages(2), "after-"))
		if got[0].Status != Delivered {
			t.Errorf("first after the reload: %+v, want Delivered (the 4th of the hour)", got[0])
		}
		if got[1].Status != TempFailure || !errors.Is(got[1].Err, ErrCapReached) {
			t.Errorf("second after the reload: %+v, want ErrCapReached (the reload must not reset the hour)", got[1])
		}
		if n := len(ts.Delivered()); n != 4 {
			t.Errorf("%d delivered, want 4", n)
		}
	})
}

func TestSMTPCapSetByAReloadCountsSendsMadeWithoutACap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) {})
		defer s.Close()
		sendAll(t, s, messages(3))
		if err := s.SetLimits(Limits{PerDay: 3}); err != nil {
			t.Fatal(err)
		}
		if r := sendAll(t, s, renamed(messages(1), "after-"))[0]; !errors.Is(r.Err, ErrCapReached) || !strings.Contains(r.Reply, "daily cap") {
			t.Errorf("%v %q, want the daily cap reached: 3 were sent today", r.Status, r.Reply)
		}
	})
}

func TestSMTPRateHoldsAcrossSetLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.RatePerSecond = 1 })
		defer s.Close()
		sendAll(t, s, messages(1))
		start := time.Now()
		if err := s.SetLimits(Limits{RatePerSecond: 1}); err != nil {
			t.Fatal(err)
		}
		sendAll(t, s, renamed(messages(1), "after-"))
		if got := time.Since(start).Truncate(time.Millisecond); got != time.Second {
			t.Errorf("message right after a reload at 1/s sent after %v, want 1s (a reload must not refill the rate)", got)
		}

		// A faster rate applies to the next messages.
		if err := s.SetLimits(Limits{RatePerSecond: 4}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		start = time.Now()
		sendAll(t, s, renamed(messages(5), "fast-"))
		if got := time.Since(start).Truncate(time.Millisecond); got != time.Second {
			t.Errorf("5 messages at 4/s took %v, want 1s", got)
		}
	})
}

func TestSMTPSetLimitsRefusesNegativeValues(t *testing.T) {
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", TLS: NoTLS, Auth: AuthNone, PerHour: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Limits{{RatePerSecond: -1}, {PerHour: -1}, {PerDay: -1}, {CapWait: -time.Second}} {
		if err := s.SetLimits(l); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("SetLimits(%+v) = %v, want an error saying negative", l, err)
		}
	}
	if got := s.caps.hour.limit; got != 5 {
		t.Errorf("hourly cap %d after refused SetLimits, want it unchanged (5)", got)
	}
}

func TestSMTPRecordPastSendsCountsIntoTheCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.PerHour = 10 })
		defer s.Close()
		var past []time.Time
		for i := range 10 {
			past = append(past, time.Now().Add(-time.Duration(50-i)*time.Minute))
		}
		s.RecordPastSends(past)
		if r := sendAll(t, s, messages(1))[0]; r.Status != TempFailure || !errors.Is(r.Err, ErrCapReached) {
			t.Errorf("%+v, want ErrCapReached: 10 sent in the last hour by another process", r)
		}
		if n := len(ts.Delivered()); n != 0 {
			t.Errorf("%d delivered, want 0", n)
		}

		// With a wait allowed, the message goes when the oldest past send
		// (50 minutes ago) leaves the hour.
		if err := s.SetLimits(Limits{PerHour: 10, CapWait: time.Hour}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if r := sendAll(t, s, renamed(messages(1), "wait-"))[0]; r.Status != Delivered {
			t.Errorf("%+v, want Delivered after the wait", r)
		}
		if got := time.Since(start).Truncate(time.Millisecond); got != 10*time.Minute {
			t.Errorf("waited %v for a slot, want 10m", got)
		}
	})
}

func TestSMTPRecordPastSendsIgnoresSendsOlderThanADay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := &testServer{}
		l, stop := startPipeServer(ts)
		defer stop()
		s := pipeSender(t, l, func(c *SMTPConfig) { c.PerDay = 3 })
		defer s.Close()
		old := time.Now().Add(-25 * time.Hour)
		s.RecordPastSends([]time.Time{old, old, old, time.Now().Add(-23 * time.Hour)})
		got := sendAll(t, s, messages(3))
		want := []Status{Delivered, Delivered, TempFailure}
		for i, r := range got {
			if r.Status != want[i] {
				t.Errorf("message %d: %v %q, want %v (one send in the last day, cap 3)", i, r.Status, r.Reply, want[i])
			}
		}
	})
}
