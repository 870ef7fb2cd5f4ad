package mailer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

var fixedDate = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// testMessage is message i to the given address, carrying code CODE-<i>.
func testMessage(i int, to string) Message {
	code := fmt.Sprintf("CODE-%04d", i)
	return Message{
		Key:       fmt.Sprintf("key-%d", i),
		From:      Address{Name: "Example Shop", Email: "shop@shop.example"},
		ReplyTo:   &Address{Name: "Support", Email: "help@shop.example"},
		To:        Address{Name: "Zoë Recipient", Email: to},
		Subject:   "Your coupon " + code,
		Text:      "Your code: " + code + "\n",
		HTML:      "<p>Your code: <strong>" + code + "</strong></p>",
		MessageID: MessageID("spring", to, "shop.example"),
		Date:      fixedDate,
	}
}

// recorder collects results and fails the test if report is ever called
// concurrently or twice for a key.
type recorder struct {
	t       testing.TB
	busy    atomic.Bool
	mu      sync.Mutex
	results map[string]Result
	order   []string
}

func newRecorder(t testing.TB) *recorder { return &recorder{t: t, results: map[string]Result{}} }

func (r *recorder) report(res Result) {
	if !r.busy.CompareAndSwap(false, true) {
		r.t.Errorf("report called concurrently (key %s)", res.Key)
	}
	defer r.busy.Store(false)
	time.Sleep(50 * time.Microsecond) // widen the window a concurrent call would hit
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.results[res.Key]; dup {
		r.t.Errorf("report called twice for key %s", res.Key)
	}
	r.results[res.Key] = res
	r.order = append(r.order, res.Key)
}

func (r *recorder) get(key string) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.results[key]
	if !ok {
		r.t.Fatalf("no result reported for key %s", key)
	}
	return res
}

func newTestSender(t testing.TB, ts *testServer, mod func(*SMTPConfig), opts ...SenderOption) *SMTPSender {
	t.Helper()
	cfg := SMTPConfig{Host: ts.host, Port: ts.port, TLS: NoTLS, Auth: AuthNone,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSMTPSender(cfg, opts...)
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// parsedMail is a delivered message parsed back with net/mail and mime/multipart.
type parsedMail struct {
	Header     mail.Header
	Text, HTML string
}

func parseMail(t testing.TB, raw []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing delivered message: %v\n%s", err, raw)
	}
	p := parsedMail{Header: m.Header}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		var body []byte
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body, err = io.ReadAll(quotedprintable.NewReader(part))
		} else {
			body, err = io.ReadAll(part)
		}
		if err != nil {
			t.Fatalf("decoding part: %v", err)
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cparams["charset"] != "UTF-8" {
			t.Errorf("part %s charset = %q, want UTF-8", ct, cparams["charset"])
		}
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		default:
			t.Errorf("unexpected part %q", ct)
		}
	}
	return p
}

func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding header %q: %v", v, err)
	}
	return s
}

func TestSMTPDeliversExactlyTheBuiltMessageWithBothParts(t *testing.T) {
	ts := startServer(t, nil, false, withAuth("shop", "s3cret"))
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Auth, c.Username, c.Password = AuthPlain, "shop", "s3cret" })
	rec := newRecorder(t)
	var msgs []Message
	for i := range 3 {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("r%d@example.net", i)))
	}
	msgs[1].ListUnsubscribe = []string{"mailto:unsub@shop.example", "https://shop.example/unsub?u=1"}
	msgs[1].OneClickUnsubscribe = true
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.Delivered()
	if len(got) != len(msgs) {
		t.Fatalf("server accepted %d messages, want %d", len(got), len(msgs))
	}
	byTo := map[string]delivery{}
	for _, d := range got {
		byTo[d.To] = d
	}
	for i, msg := range msgs {
		res := rec.get(msg.Key)
		if res.Status != Delivered || res.Err != nil || !strings.HasPrefix(res.Reply, "250") {
			t.Errorf("result %d = %+v, want Delivered with a 250 reply", i, res)
		}
		d, ok := byTo[msg.To.Email]
		if !ok {
			t.Fatalf("nothing delivered to %s", msg.To.Email)
		}
		if d.From != "shop@shop.example" || d.AuthUser != "shop" {
			t.Errorf("envelope from %q auth %q, want shop@shop.example authenticated as shop", d.From, d.AuthUser)
		}
		want, err := Build(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Data, want) {
			t.Errorf("delivered bytes differ from Build(msg):\n got %q\nwant %q", d.Data, want)
		}
		p := parseMail(t, d.Data)
		code := fmt.Sprintf("CODE-%04d", i)
		if !strings.Contains(p.Text, code) || !strings.Contains(p.HTML, "<strong>"+code+"</strong>") {
			t.Errorf("message %d: code %s missing from a part:\ntext %q\nhtml %q", i, code, p.Text, p.HTML)
		}
		to, err := p.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Name != "Zoë Recipient" || to[0].Address != msg.To.Email {
			t.Errorf("To = %v (%v), want Zoë Recipient <%s>", to, err, msg.To.Email)
		}
		from, _ := p.Header.AddressList("From")
		if len(from) != 1 || from[0].String() != `"Example Shop" <shop@shop.example>` {
			t.Errorf("From = %v, want Example Shop <shop@shop.example>", from)
		}
		if rt, _ := p.Header.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != "help@shop.example" {
			t.Errorf("Reply-To = %v, want help@shop.example", rt)
		}
		if got := decodeHeader(t, p.Header.Get("Subject")); got != "Your coupon "+code {
			t.Errorf("Subject = %q, want %q", got, "Your coupon "+code)
		}
		if got := p.Header.Get("Message-ID"); got != msg.MessageID {
			t.Errorf("Message-ID = %q, want %q", got, msg.MessageID)
		}
		if date, err := p.Header.Date(); err != nil || !date.Equal(fixedDate) {
			t.Errorf("Date = %v (%v), want %v", date, err, fixedDate)
		}
	}
	p := parseMail(t, byTo["r1@example.net"].Data)
	if got, want := p.Header.Get("List-Unsubscribe"), "<mailto:unsub@shop.example>, <https://shop.example/unsub?u=1>"; got != want {
		t.Errorf("List-Unsubscribe = %q, want %q", got, want)
	}
	if got := p.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q, want List-Unsubscribe=One-Click", got)
	}
	if p0 := parseMail(t, byTo["r0@example.net"].Data); p0.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("message without unsubscribe URLs has List-Unsubscribe %q", p0.Header.Get("List-Unsubscribe"))
	}
}

func TestSMTPAuthenticatesWithEachMethod(t *testing.T) {
	for _, tc := range []struct {
		auth AuthMethod
		mech string
	}{{AuthPlain, "PLAIN"}, {AuthLogin, "LOGIN"}, {AuthCRAMMD5, "CRAM-MD5"}} {
		t.Run(tc.mech, func(t *testing.T) {
			ts := startServer(t, nil, false, withAuth("shop", "pa55 word"))
			s := newTestSender(t, ts, func(c *SMTPConfig) { c.Auth, c.Username, c.Password = tc.auth, "shop", "pa55 word" })
			rec := newRecorder(t)
			if err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if r := rec.get("key-1"); r.Status != Delivered {
				t.Fatalf("result = %+v, want Delivered", r)
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if len(ts.authMechs) != 1 || ts.authMechs[0] != tc.mech {
				t.Errorf("server saw AUTH %v, want [%s]", ts.authMechs, tc.mech)
			}
		})
	}
}

func TestSMTPWrongPasswordStopsTheRunWithoutRetrying(t *testing.T) {
	ts := startServer(t, nil, false, withAuth("shop", "right"))
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Auth, c.Username, c.Password, c.Retries = AuthPlain, "shop", "wrong", 5 })
	rec := newRecorder(t)
	msgs := []Message{testMessage(1, "a@example.net"), testMessage(2, "b@example.net"), testMessage(3, "c@example.net")}
	err := s.Send(context.Background(), msgs, rec.report)
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("Send error = %v, want the server's 535 reply", err)
	}
	for _, m := range msgs {
		if r := rec.get(m.Key); r.Status != TempFailure || r.Err == nil {
			t.Errorf("%s: result %+v, want TempFailure with an error (the recipient is not at fault)", m.Key, r)
		}
	}
	ts.mu.Lock()
	auths := len(ts.authMechs)
	ts.mu.Unlock()
	if auths > 2 { // at most one attempt per connection slot
		t.Errorf("server saw %d AUTH attempts, want no retries of a refused login", auths)
	}
	if n := len(ts.Delivered()); n != 0 {
		t.Errorf("server accepted %d messages, want 0", n)
	}
	ts.waitAllClosed(t) // a refused login must not leave its connection open
}

func TestSMTPStartTLSEncryptsBeforeAuth(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ts := startServer(t, serverTLS, false, withAuth("shop", "s3cret"))
	s := newTestSender(t, ts, func(c *SMTPConfig) {
		c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = StartTLS, clientTLS, AuthPlain, "shop", "s3cret"
	})
	rec := newRecorder(t)
	if err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := ts.Delivered()
	if len(d) != 1 || !d[0].TLS || d[0].AuthUser != "shop" {
		t.Fatalf("delivered %+v, want one message over TLS, authenticated", d)
	}
}

func TestSMTPStartTLSRefusesUntrustedCertificateAndMissingSTARTTLS(t *testing.T) {
	serverTLS, _ := selfSignedTLS(t)
	untrusted := startServer(t, serverTLS, false)
	plain := startServer(t, nil, false)
	for name, ts := range map[string]*testServer{"untrusted certificate": untrusted, "no STARTTLS offered": plain} {
		t.Run(name, func(t *testing.T) {
			s := newTestSender(t, ts, func(c *SMTPConfig) { c.TLS = StartTLS })
			rec := newRecorder(t)
			err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report)
			if err == nil {
				t.Fatal("Send succeeded, want a TLS error")
			}
			if r := rec.get("key-1"); r.Status != TempFailure {
				t.Errorf("result %+v, want TempFailure", r)
			}
			if n := len(ts.Delivered()); n != 0 {
				t.Errorf("server accepted %d messages in clear text, want 0", n)
			}
			if n := ts.Sessions(); n > 1 {
				t.Errorf("%d connections, want no retry of a TLS failure", n)
			}
			ts.waitAllClosed(t) // the refused connection must not be left open
		})
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ts := startServer(t, serverTLS, true)
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.TLS, c.TLSConfig = ImplicitTLS, clientTLS })
	rec := newRecorder(t)
	if err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d := ts.Delivered(); len(d) != 1 || !d[0].TLS {
		t.Fatalf("delivered %+v, want one message over TLS", d)
	}
}

func TestNewSMTPSenderRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  SMTPConfig
		want string
	}{
		{"clear text to a remote host", SMTPConfig{Host: "smtp.example.com", TLS: NoTLS, Auth: AuthNone}, "loopback"},
		{"clear text to a LAN address", SMTPConfig{Host: "192.168.1.10", TLS: NoTLS, Auth: AuthNone}, "loopback"},
		{"auth without password", SMTPConfig{Host: "smtp.example.com", Username: "u"}, "username and a password"},
		{"no host", SMTPConfig{Auth: AuthNone}, "host"},
		{"bad port", SMTPConfig{Host: "smtp.example.com", Port: 70000, Auth: AuthNone}, "port"},
		{"negative connections", SMTPConfig{Host: "smtp.example.com", Auth: AuthNone, Connections: -1}, "connections"},
		{"negative cap", SMTPConfig{Host: "smtp.example.com", Auth: AuthNone, PerHour: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSMTPSender(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSMTPSender error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "127.0.0.53"} {
		if _, err := NewSMTPSender(SMTPConfig{Host: host, TLS: NoTLS, Auth: AuthNone}); err != nil {
			t.Errorf("NoTLS to loopback %s refused: %v", host, err)
		}
	}
}

func TestParseTLSModeAndAuthMethod(t *testing.T) {
	for in, want := range map[string]TLSMode{"": StartTLS, "starttls": StartTLS, "TLS": ImplicitTLS, "none": NoTLS} {
		if got, err := ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]AuthMethod{"": AuthPlain, "login": AuthLogin, "CRAM-MD5": AuthCRAMMD5, "none": AuthNone} {
		if got, err := ParseAuthMethod(in); err != nil || got != want {
			t.Errorf("ParseAuthMethod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseTLSMode("ssl3"); err == nil {
		t.Error("ParseTLSMode(ssl3) succeeded")
	}
	if _, err := ParseAuthMethod("xoauth"); err == nil {
		t.Error("ParseAuthMethod(xoauth) succeeded")
	}
}

func TestSMTPKeepsConnectionsOpenAcrossMessagesAndSends(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections = 2 })
	rec := newRecorder(t)
	var msgs []Message
	for i := range 30 {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("r%d@example.net", i)))
	}
	if err := s.Send(context.Background(), msgs[:20], rec.report); err != nil {
		t.Fatal(err)
	}
	if n := ts.Sessions(); n < 1 || n > 2 {
		t.Fatalf("20 messages used %d connections, want 1 or 2", n)
	}
	before := ts.Sessions()
	if err := s.Send(context.Background(), msgs[20:], rec.report); err != nil {
		t.Fatal(err)
	}
	if n := ts.Sessions(); n != before {
		t.Errorf("second Send opened connections: %d → %d, want the pooled ones reused", before, n)
	}
	if n := len(ts.Delivered()); n != 30 {
		t.Errorf("server accepted %d messages, want 30", n)
	}
	if len(rec.order) != 30 {
		t.Errorf("%d results, want 30", len(rec.order))
	}
}

func TestSMTPClassifiesReplies(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) { testClassifiesReplies(t, pipelining) })
	}
}

func testClassifiesReplies(t *testing.T, pipelining bool) {
	ts := startServer(t, nil, false)
	ts.onRcpt = func(to string, n int, drop func()) error {
		switch {
		case strings.HasPrefix(to, "nouser@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		case strings.HasPrefix(to, "greylist@") && n <= 2:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"}
		case strings.HasPrefix(to, "full@"):
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
		}
		return nil
	}
	ts.onData = func(to string, n int, drop func()) error {
		switch {
		case strings.HasPrefix(to, "spam@"):
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"}
		case strings.HasPrefix(to, "drop@") && n == 1:
			drop()
			return errDropped
		}
		return nil
	}
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.Retries, c.NoPipelining = 1, 3, !pipelining })
	rec := newRecorder(t)
	tos := []string{"ok1@example.net", "nouser@example.net", "greylist@example.net", "full@example.net", "spam@example.net", "drop@example.net", "ok2@example.net"}
	var msgs []Message
	for i, to := range tos {
		msgs = append(msgs, testMessage(i, to))
	}
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, tc := range []struct {
		status Status
		reply  string
	}{
		{Delivered, "250"},
		{PermFailure, "550 5.1.1 No such user here"},
		{Delivered, "250"},
		{TempFailure, "452 4.2.2 Mailbox full"},
		{PermFailure, "554 5.7.1 Message rejected as spam"},
		{OutcomeUnknown, "no reply"}, // dropped after the whole message was read: never resent
		{Delivered, "250"},
	} {
		r := rec.get(msgs[i].Key)
		if r.Status != tc.status || !strings.HasPrefix(r.Reply, tc.reply) {
			t.Errorf("%s: got %v %q (%v), want %v %q", tos[i], r.Status, r.Reply, r.Err, tc.status, tc.reply)
		}
		if (r.Err == nil) != (tc.status == Delivered) {
			t.Errorf("%s: Err = %v, want an error exactly for failures", tos[i], r.Err)
		}
	}
	count := map[string]int{}
	for _, d := range ts.Delivered() {
		count[d.To]++
	}
	for _, to := range tos {
		want := 0
		if to == "ok1@example.net" || to == "greylist@example.net" || to == "ok2@example.net" {
			want = 1
		}
		if count[to] != want {
			t.Errorf("%s accepted %d times, want %d", to, count[to], want)
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if n := ts.rcptSeen["full@example.net"]; n != 4 {
		t.Errorf("full@ tried %d times, want 1 + 3 retries", n)
	}
	if n := ts.dataSeen["drop@example.net"]; n != 1 {
		t.Errorf("drop@ handed over %d times, want 1 (its outcome is unknown, never retried)", n)
	}
	if n := ts.rcptSeen["nouser@example.net"]; n != 1 {
		t.Errorf("nouser@ tried %d times, want 1 (5xx is not retried)", n)
	}
	if ts.sessions != 2 {
		t.Errorf("%d connections, want 2 (one reconnection after the drop)", ts.sessions)
	}
}

func TestSMTPRejectedSenderStopsTheRun(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections = 1 })
	rec := newRecorder(t)
	msgs := []Message{testMessage(1, "a@example.net"), testMessage(2, "b@example.net")}
	for i := range msgs {
		msgs[i].From.Email = "not-allowed@elsewhere.example"
	}
	ts.onMail = func(from string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender not allowed"}
	}
	err := s.Send(context.Background(), msgs, rec.report)
	if err == nil || !strings.Contains(err.Error(), "rejected sender") {
		t.Fatalf("Send error = %v, want one naming the rejected sender", err)
	}
	for _, m := range msgs {
		if r := rec.get(m.Key); r.Status != TempFailure {
			t.Errorf("%s: %+v, want TempFailure (not the recipient's fault)", m.Key, r)
		}
	}
}

func TestSMTPUnreachableServerReportsEveryMessage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: addr.Port, TLS: NoTLS, Auth: AuthNone,
		Retries: 2, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	var msgs []Message
	for i := range 5 {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("r%d@example.net", i)))
	}
	err = s.Send(context.Background(), msgs, rec.report)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Send error = %v, want unreachable", err)
	}
	for _, m := range msgs {
		if r := rec.get(m.Key); r.Status != TempFailure || r.Err == nil {
			t.Errorf("%s: %+v, want TempFailure with an error", m.Key, r)
		}
	}
}

func TestSMTPHourlyCapReportsTheRestAsTemporary(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.PerHour = 1, 3 })
	rec := newRecorder(t)
	var msgs []Message
	for i := range 5 {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("r%d@example.net", i)))
	}
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, m := range msgs {
		r := rec.get(m.Key)
		if i < 3 && r.Status != Delivered {
			t.Errorf("%s: %+v, want Delivered within the cap", m.Key, r)
		}
		if i >= 3 && (r.Status != TempFailure || !errors.Is(r.Err, ErrCapReached) || !strings.Contains(r.Reply, "hourly cap reached")) {
			t.Errorf("%s: %v %q %v, want TempFailure \"hourly cap reached\" wrapping ErrCapReached", m.Key, r.Status, r.Reply, r.Err)
		}
	}
	if n := len(ts.Delivered()); n != 3 {
		t.Errorf("server accepted %d, want 3", n)
	}
}

func TestSMTPRefusedMessagesDoNotUseCapSlots(t *testing.T) {
	ts := startServer(t, nil, false)
	ts.onRcpt = func(to string, _ int, _ func()) error {
		if strings.HasPrefix(to, "nouser") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	}
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.PerDay = 1, 2 })
	rec := newRecorder(t)
	msgs := []Message{testMessage(0, "nouser0@example.net"), testMessage(1, "nouser1@example.net"),
		testMessage(2, "a@example.net"), testMessage(3, "b@example.net"), testMessage(4, "c@example.net")}
	if err := s.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatal(err)
	}
	want := []Status{PermFailure, PermFailure, Delivered, Delivered, TempFailure}
	for i, m := range msgs {
		if r := rec.get(m.Key); r.Status != want[i] {
			t.Errorf("%s: %v %q, want %v", m.To.Email, r.Status, r.Reply, want[i])
		}
	}
	if r := rec.get("key-4"); !strings.Contains(r.Reply, "daily cap reached") {
		t.Errorf("reply %q, want daily cap reached", r.Reply)
	}
}

func TestSendCapsCountARollingWindow(t *testing.T) {
	c := newSendCaps(2, 0, 0)
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	if _, _, err := c.reserve(t0); err != nil {
		t.Fatal(err)
	}
	s2, _, err := c.reserve(t0.Add(10 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, wait, err := c.reserve(t0.Add(20 * time.Minute))
	if !errors.Is(err, ErrCapReached) || wait != 40*time.Minute {
		t.Fatalf("third in the hour: wait %v err %v, want 40m and ErrCapReached", wait, err)
	}
	c.release(s2)
	if _, _, err := c.reserve(t0.Add(20 * time.Minute)); err != nil {
		t.Fatalf("after releasing a slot: %v", err)
	}
	if _, wait, err := c.reserve(t0.Add(59 * time.Minute)); err == nil || wait != time.Minute {
		t.Fatalf("at 59m: wait %v err %v, want 1m", wait, err)
	}
	if _, _, err := c.reserve(t0.Add(60 * time.Minute)); err != nil {
		t.Fatalf("at 60m the first slot has left the window: %v", err)
	}
	if _, wait, err := c.reserve(t0.Add(61 * time.Minute)); err == nil || wait != 19*time.Minute {
		t.Fatalf("at 61m: wait %v err %v, want 19m (the slot taken at 20m)", wait, err)
	}
}

func TestSMTPCancelledContextReportsEveryMessage(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := newRecorder(t)
	msgs := []Message{testMessage(1, "a@example.net"), testMessage(2, "b@example.net"), testMessage(3, "c@example.net")}
	if err := s.Send(ctx, msgs, rec.report); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	for _, m := range msgs {
		if r := rec.get(m.Key); r.Status != TempFailure || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: %+v, want TempFailure wrapping context.Canceled", m.Key, r)
		}
	}
	if n := len(ts.Delivered()); n != 0 {
		t.Errorf("server accepted %d, want 0", n)
	}
}

func TestSMTPUnbuildableMessageIsPermanent(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, nil)
	rec := newRecorder(t)
	bad := testMessage(1, "a@example.net")
	bad.To.Email = "a@example.net\r\nBcc: victim@example.org"
	if err := s.Send(context.Background(), []Message{bad, testMessage(2, "b@example.net")}, rec.report); err != nil {
		t.Fatal(err)
	}
	if r := rec.get("key-1"); r.Status != PermFailure || !errors.Is(r.Err, ErrInvalidMessage) {
		t.Errorf("bad address: %+v, want PermFailure wrapping ErrInvalidMessage", r)
	}
	if r := rec.get("key-2"); r.Status != Delivered {
		t.Errorf("good message after a bad one: %+v, want Delivered", r)
	}
	if d := ts.Delivered(); len(d) != 1 || d[0].To != "b@example.net" {
		t.Errorf("delivered %v, want only b@example.net", d)
	}
}

func TestSMTPSendAfterCloseFails(t *testing.T) {
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	if err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if r := rec.get("key-1"); r.Status != TempFailure {
		t.Errorf("%+v, want TempFailure", r)
	}
}

// traceConn records, in order, the SMTP verbs the client writes and a "read"
// for each read that returned data.
type traceConn struct {
	net.Conn
	mu     *sync.Mutex
	events *[]string
}

func (c traceConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\r\n"), "\r\n") {
		if verb, _, _ := strings.Cut(line, ":"); verb == "MAIL FROM" || verb == "RCPT TO" || line == "DATA" {
			*c.events = append(*c.events, line[:4])
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		*c.events = append(*c.events, "read")
		c.mu.Unlock()
	}
	return n, err
}

func TestSMTPPipelinesMailRcptAndData(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			ts := startServer(t, nil, false)
			var mu sync.Mutex
			var events []string
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return traceConn{c, &mu, &events}, nil
			}
			s := newTestSender(t, ts, func(c *SMTPConfig) { c.Connections, c.NoPipelining = 1, !pipelining }, WithDialer(dial))
			rec := newRecorder(t)
			if err := s.Send(context.Background(), messages(2), rec.report); err != nil {
				t.Fatal(err)
			}
			if n := len(ts.Delivered()); n != 2 {
				t.Fatalf("%d delivered, want 2", n)
			}
			mu.Lock()
			trace := strings.Join(events, " ")
			mu.Unlock()
			together := strings.Count(trace, "MAIL RCPT DATA")
			if pipelining && together != 2 {
				t.Errorf("trace %q: want MAIL, RCPT and DATA written together for each of 2 messages", trace)
			}
			if !pipelining && (together != 0 || strings.Count(trace, "MAIL read RCPT read DATA read") != 2) {
				t.Errorf("trace %q: want each command to wait for its reply", trace)
			}
		})
	}
}

// TestSMTPPipeliningEndsADataPhaseTheServerOpenedWrongly covers a server that
// answers 354 to a pipelined DATA although it refused the recipient: the
// client must close the empty data phase and reset, and report the refusal.
func TestSMTPPipeliningEndsADataPhaseTheServerOpenedWrongly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := make(chan []string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var lines []string
		r := bufio.NewReader(c)
		fmt.Fprint(c, "220 mx.test ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			line = strings.TrimRight(line, "\r\n")
			lines = append(lines, line)
			switch verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); {
			case verb == "EHLO":
				fmt.Fprint(c, "250-mx.test\r\n250 PIPELINING\r\n")
			case strings.HasPrefix(verb, "MAIL"), verb == "RSET":
				fmt.Fprint(c, "250 OK\r\n")
			case strings.HasPrefix(verb, "RCPT"):
				fmt.Fprint(c, "550 5.1.1 No such user\r\n")
			case verb == "DATA":
				fmt.Fprint(c, "354 go ahead\r\n")
			case line == ".":
				fmt.Fprint(c, "554 5.5.1 No valid recipients\r\n")
			case verb == "QUIT":
				fmt.Fprint(c, "221 bye\r\n")
				seen <- lines
				return
			}
		}
		seen <- lines
	}()
	port := l.Addr().(*net.TCPAddr).Port
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: NoTLS, Auth: AuthNone, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	if err := s.Send(context.Background(), messages(1), rec.report); err != nil {
		t.Fatal(err)
	}
	if r := rec.get("key-0"); r.Status != PermFailure || !strings.HasPrefix(r.Reply, "550 5.1.1") {
		t.Errorf("%+v, want PermFailure with the 550 reply", r)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	lines := <-seen
	got := strings.Join(lines[1:], "|")
	if want := "MAIL FROM:<shop@shop.example>|RCPT TO:<r0@example.net>|DATA|.|RSET|QUIT"; got != want {
		t.Errorf("server saw %q, want %q", got, want)
	}
}
