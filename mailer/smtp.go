package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"
)

// TLSMode is how an SMTP connection is encrypted.
type TLSMode int

const (
	// StartTLS upgrades a plain connection with STARTTLS and refuses a server
	// that does not offer it (the default; port 587).
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS
	// NoTLS sends everything in clear text; allowed only for a loopback host
	// (a local relay or a test server).
	NoTLS
)

// String returns the configuration spelling: "starttls", "tls" or "none".
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "tls"
	case NoTLS:
		return "none"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseTLSMode parses "starttls" (or ""), "tls" (also "implicit", "ssl") or "none".
func ParseTLSMode(s string) (TLSMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "starttls":
		return StartTLS, nil
	case "tls", "implicit", "ssl":
		return ImplicitTLS, nil
	case "none":
		return NoTLS, nil
	}
	return 0, fmt.Errorf("mailer: unknown TLS mode %q (want starttls, tls or none)", s)
}

// AuthMethod is the SMTP authentication mechanism.
type AuthMethod int

const (
	// AuthPlain is SASL PLAIN (the default).
	AuthPlain AuthMethod = iota
	// AuthLogin is the LOGIN mechanism.
	AuthLogin
	// AuthCRAMMD5 is CRAM-MD5.
	AuthCRAMMD5
	// AuthNone sends no credentials.
	AuthNone
)

// String returns the configuration spelling: "plain", "login", "cram-md5" or "none".
func (a AuthMethod) String() string {
	switch a {
	case AuthPlain:
		return "plain"
	case AuthLogin:
		return "login"
	case AuthCRAMMD5:
		return "cram-md5"
	case AuthNone:
		return "none"
	}
	return "AuthMethod(" + strconv.Itoa(int(a)) + ")"
}

// ParseAuthMethod parses "plain" (or ""), "login", "cram-md5" or "none".
func ParseAuthMethod(s string) (AuthMethod, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "plain":
		return AuthPlain, nil
	case "login":
		return AuthLogin, nil
	case "cram-md5", "crammd5":
		return AuthCRAMMD5, nil
	case "none":
		return AuthNone, nil
	}
	return 0, fmt.Errorf("mailer: unknown SMTP auth method %q (want plain, login, cram-md5 or none)", s)
}

// SMTPConfig configures an SMTPSender. Zero values mean the documented defaults.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 for StartTLS, 465 for ImplicitTLS, 25 for NoTLS.
	Port int
	TLS  TLSMode
	// Auth defaults to AuthPlain, which needs Username and Password.
	Auth               AuthMethod
	Username, Password string
	// Connections is the number of parallel connections, each kept open
	// across many messages (default 2).
	Connections int
	// RatePerSecond caps messages handed to the server per second, across
	// all connections and retries (0: no limit).
	RatePerSecond float64
	// PerHour and PerDay cap messages accepted by the server in any rolling
	// hour and day of this sender's life (0: no cap); see also SetLimits
	// and RecordPastSends. When a cap is reached
	// the remaining messages are reported as TempFailure wrapping
	// ErrCapReached, unless a slot frees within CapWait.
	PerHour, PerDay int
	// CapWait is the longest a message waits for a cap slot (default 0: do
	// not wait; a daemon may set hours). A ctx deadline is always obeyed.
	CapWait time.Duration
	// Retries is how many times a temporary failure (4xx reply, broken or
	// refused connection before the message was complete) is retried
	// within a Send (default 3; negative: none). OutcomeUnknown is never
	// retried.
	Retries int
	// RetryMin and RetryMax bound the exponential backoff between retries
	// (default 1s and 30s).
	RetryMin, RetryMax time.Duration
	// HELO is the name sent in EHLO (default: the host name).
	HELO string
	// TLSConfig overrides the TLS settings (tests: a private root CA).
	// ServerName defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each message's transaction (default 30s).
	Timeout time.Duration
	// NoPipelining sends MAIL, RCPT and DATA one at a time even when the
	// server offers PIPELINING (RFC 2920), for servers that mishandle it.
	NoPipelining bool
}

func (c SMTPConfig) limits() Limits {
	return Limits{RatePerSecond: c.RatePerSecond, PerHour: c.PerHour, PerDay: c.PerDay, CapWait: c.CapWait}
}

// ErrCapReached is wrapped by the Err of a TempFailure reported because the
// hourly or daily cap was reached.
var ErrCapReached = errors.New("mailer: sending cap reached")

// SMTPSender delivers messages over SMTP with go-mail: it keeps up to
// Connections connections open across messages and Send calls, redials a
// broken one, paces messages, and classifies every outcome. Safe for
// concurrent use; Close it when done.
//
// go-mail dials, negotiates TLS and authenticates; each message then goes
// through go-mail's SMTP client as MAIL, RCPT and DATA carrying the bytes of
// Build (plus DKIM-Signature), so what is sent is exactly what the Outbox
// writes. When the server offers PIPELINING (RFC 2920) the three commands
// are written together, two round trips per message instead of four. (go-mail's Client.Send would render its Msg again, with new MIME
// boundaries, and its SendError counts a dropped connection as permanent;
// here the reply code decides: 4xx and no reply are temporary, 5xx
// permanent.)
//
// Failure classes: a 5xx reply to RCPT or DATA is a PermFailure for that
// recipient with the reply kept. A 4xx reply, or a connection that dropped,
// was reset or timed out before the final "." of DATA was completely
// written, certainly did not deliver the message: it is retried with
// backoff (redialling as needed; Message.Released is called before each
// wait and Message.Prepare before each attempt) and then reported as
// TempFailure, so a later run retries it. A connection lost after the "."
// was written but before the server's reply may have delivered it: that
// message is reported as OutcomeUnknown and never tried again, so an email
// is never sent twice by the sender. Problems no retry fixes (credentials
// refused, TLS missing or untrusted, the sender address refused) stop the
// run: see Send.
//
// Caps: PerHour and PerDay count messages the server accepted (or may have:
// OutcomeUnknown) in any rolling hour and day, in this sender's memory; a
// long-lived sender (the daemon) carries them across runs and across
// SetLimits, and RecordPastSends adds what other processes sent. When a cap
// is full, a message waits only if a slot frees within CapWait and before
// ctx's deadline; otherwise it is reported at once as TempFailure "hourly
// cap reached (…)" wrapping ErrCapReached, and so are the rest of the run —
// never a silent hours-long block.
type SMTPSender struct {
	cfg     SMTPConfig
	opts    *senderOptions
	client  *gomail.Client
	limiter *rate.Limiter
	caps    *sendCaps
	addr    string

	slots chan struct{}  // one per connection in use
	idle  chan *smtpConn // open connections not in use

	mu     sync.Mutex
	closed bool
}

type smtpConn struct {
	c        *gosmtp.Client
	lastUsed time.Time
}

// idleCheckAfter is how long a pooled connection may sit unused before it is
// probed with NOOP before reuse (servers drop idle clients after a while).
const idleCheckAfter = 5 * time.Second

// NewSMTPSender checks cfg and returns a sender; it does not connect yet.
func NewSMTPSender(cfg SMTPConfig, opts ...SenderOption) (*SMTPSender, error) {
	o, err := newSenderOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /\t\r\n") {
		return nil, fmt.Errorf("mailer: smtp host %q is empty or invalid", cfg.Host)
	}
	switch cfg.TLS {
	case StartTLS, ImplicitTLS:
	case NoTLS:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("mailer: smtp tls \"none\" is allowed only for a loopback host (localhost, 127.0.0.1, ::1), not %q: "+
				"the password and the coupon codes would cross the network in clear text; use tls: starttls (port 587) or tls: tls (port 465)", cfg.Host)
		}
	default:
		return nil, fmt.Errorf("mailer: unknown smtp TLS mode %d", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{StartTLS: 587, ImplicitTLS: 465, NoTLS: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mailer: smtp port %d out of range 1..65535", cfg.Port)
	}
	var authType gomail.SMTPAuthType
	switch cfg.Auth {
	case AuthPlain:
		authType = gomail.SMTPAuthPlain
		if cfg.TLS == NoTLS {
			authType = gomail.SMTPAuthPlainNoEnc // loopback only, checked above
		}
	case AuthLogin:
		authType = gomail.SMTPAuthLogin
		if cfg.TLS == NoTLS {
			authType = gomail.SMTPAuthLoginNoEnc
		}
	case AuthCRAMMD5:
		authType = gomail.SMTPAuthCramMD5
	case AuthNone:
		authType = gomail.SMTPAuthNoAuth
	default:
		return nil, fmt.Errorf("mailer: unknown smtp auth method %d", cfg.Auth)
	}
	if cfg.Auth != AuthNone && (cfg.Username == "" || cfg.Password == "") {
		return nil, fmt.Errorf("mailer: smtp auth %s needs a username and a password (or set auth: none)", cfg.Auth)
	}
	switch {
	case cfg.Connections == 0:
		cfg.Connections = 2
	case cfg.Connections < 0:
		return nil, fmt.Errorf("mailer: smtp connections %d must be positive", cfg.Connections)
	}
	if err := cfg.limits().validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 3
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.RetryMin < 0 || cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("mailer: smtp retry backoff %v..%v is invalid", cfg.RetryMin, cfg.RetryMax)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mailer: smtp timeout %v must be positive", cfg.Timeout)
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}
	gopts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithSMTPAuth(authType),
	}
	switch cfg.TLS {
	case StartTLS:
		gopts = append(gopts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		gopts = append(gopts, gomail.WithSSL())
	case NoTLS:
		gopts = append(gopts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Auth != AuthNone {
		gopts = append(gopts, gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		gopts = append(gopts, gomail.WithHELO(cfg.HELO))
	}
	// go-mail leaves the connection open when EHLO, STARTTLS or AUTH fails
	// after connecting; dialling ourselves lets s.dial close it. go-mail does
	// not wrap a custom dialer in TLS, so implicit TLS is done here too.
	dial := o.dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	gopts = append(gopts, gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if cfg.TLS == ImplicitTLS {
			tc := tls.Client(conn, tlsConf)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			conn = tc
		}
		if h, ok := ctx.Value(dialedConnKey{}).(*net.Conn); ok {
			*h = conn
		}
		return conn, nil
	}))
	client, err := gomail.NewClient(cfg.Host, gopts...)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp client: %w", err)
	}
	s := &SMTPSender{
		cfg:    cfg,
		opts:   o,
		client: client,
		caps:   newSendCaps(cfg.PerHour, cfg.PerDay, cfg.CapWait),
		addr:   net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		slots:  make(chan struct{}, cfg.Connections),
		idle:   make(chan *smtpConn, cfg.Connections),
	}
	s.limiter = rate.NewLimiter(cfg.limits().rateLimit(), 1)
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// errSenderClosed is returned by Send after Close.
var errSenderClosed = errors.New("mailer: smtp sender is closed")

// Send delivers msgs over up to Connections connections and calls report
// exactly once per message, never concurrently, as soon as its outcome is
// known. Temporary failures are retried with backoff up to Retries times
// and then reported as TempFailure; 5xx replies to RCPT or DATA are
// PermFailure with the server's reply; a message handed over without a
// reply is OutcomeUnknown and not retried.
//
// Send returns nil when every message was tried. It returns an error (after
// reporting every message not yet reported as TempFailure) when the run
// cannot go on: ctx cancelled, the server unreachable after the retries, or
// a problem no retry fixes — authentication refused, TLS not offered or not
// trusted, the sender address rejected (5xx to MAIL FROM).
func (s *SMTPSender) Send(ctx context.Context, msgs []Message, report func(Result)) error {
	var repMu sync.Mutex
	reported := make([]bool, len(msgs))
	rep := func(i int, r Result) {
		repMu.Lock()
		defer repMu.Unlock()
		if !reported[i] {
			reported[i] = true
			report(r)
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if closed {
		cancel(errSenderClosed)
	}

	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := range msgs {
			select {
			case jobs <- i:
			case <-runCtx.Done():
				return
			}
		}
	}()
	workers := min(s.cfg.Connections, len(msgs))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			select {
			case s.slots <- struct{}{}:
			case <-runCtx.Done():
				return
			}
			defer func() { <-s.slots }()
			var conn *smtpConn
			select {
			case conn = <-s.idle:
				if time.Since(conn.lastUsed) > idleCheckAfter &&
					(conn.c.UpdateDeadline(s.cfg.Timeout) != nil || conn.c.Noop() != nil) {
					_ = conn.c.Close()
					conn = nil
				}
			default:
			}
			for i := range jobs {
				var r Result
				var fatal error
				r, conn, fatal = s.deliver(runCtx, conn, msgs[i])
				rep(i, r)
				if fatal != nil {
					cancel(fatal)
				}
			}
			s.release(conn)
		})
	}
	wg.Wait()

	cause := context.Cause(runCtx) // nil unless ctx, a fatal error or Close stopped the run
	for i, msg := range msgs {
		err := cause
		if err == nil {
			err = errors.New("mailer: message not attempted") // cannot happen: every job was taken
		}
		rep(i, Result{Key: msg.Key, Status: TempFailure, Reply: "not sent: run stopped", Err: err})
	}
	return cause
}

// release puts a healthy connection back into the pool, or closes it.
func (s *SMTPSender) release(conn *smtpConn) {
	if conn == nil {
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		select {
		case s.idle <- conn:
			return
		default:
		}
	}
	_ = conn.c.Quit()
}

// Close sends QUIT on every idle connection and makes later Sends fail.
// Call it after Send has returned.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for {
		select {
		case conn := <-s.idle:
			if err := conn.c.Quit(); err != nil {
				_ = conn.c.Close()
				errs = append(errs, err)
			}
		default:
			return errors.Join(errs...)
		}
	}
}

// deliver sends one message, retrying temporary failures. It returns the
// result, the connection to keep using (nil if broken), and a non-nil fatal
// error when the whole run must stop.
func (s *SMTPSender) deliver(ctx context.Context, conn *smtpConn, msg Message) (Result, *smtpConn, error) {
	res := Result{Key: msg.Key}
	raw, _, err := s.opts.render(msg)
	if err != nil {
		res.Status, res.Reply, res.Err = PermFailure, "message cannot be built", err
		return res, conn, nil
	}
	from := (&mail.Address{Address: strings.TrimSpace(msg.From.Email)}).String()
	to := (&mail.Address{Address: strings.TrimSpace(msg.To.Email)}).String()
	log := s.opts.logger.With("key", msg.Key)

	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, s.backoff(attempt)); err != nil {
				res.Status, res.Reply, res.Err = TempFailure, "not sent: run stopped", context.Cause(ctx)
				return res, conn, nil
			}
		}
		if err := ctx.Err(); err != nil {
			res.Status, res.Reply, res.Err = TempFailure, "not sent: run stopped", context.Cause(ctx)
			return res, conn, nil
		}
		slot, err := s.reserveCap(ctx)
		if err != nil {
			res.Status, res.Reply, res.Err = TempFailure, capReply(err), err
			return res, conn, nil
		}
		if err := s.limiter.Wait(ctx); err != nil {
			s.caps.release(slot)
			res.Status, res.Reply, res.Err = TempFailure, "not sent: run stopped", err
			return res, conn, nil
		}
		if conn == nil {
			conn, err = s.dial(ctx)
			if err != nil {
				s.caps.release(slot)
				if !retryableDialError(err) || ctx.Err() != nil {
					fatal := fmt.Errorf("mailer: smtp %s: %w", s.addr, err)
					res.Status, res.Reply, res.Err = TempFailure, replyOf(err, "cannot connect"), fatal
					return res, nil, fatal
				}
				if attempt >= s.cfg.Retries {
					fatal := fmt.Errorf("mailer: smtp %s unreachable after %d attempts: %w", s.addr, attempt+1, err)
					res.Status, res.Reply, res.Err = TempFailure, replyOf(err, "cannot connect"), fatal
					return res, nil, fatal
				}
				log.Warn("smtp connect failed, retrying", "server", s.addr, "attempt", attempt+1, "err", err)
				continue
			}
		}
		if msg.Prepare != nil {
			if err := msg.Prepare(); err != nil {
				s.caps.release(slot)
				res.Status, res.Reply, res.Err = TempFailure, "not sent: "+err.Error(), err
				return res, conn, nil
			}
		}
		reply, txErr := s.transact(conn, from, to, raw)
		if txErr == nil {
			conn.lastUsed = time.Now()
			log.Debug("message delivered", "to", msg.To.Email, "reply", reply)
			res.Status, res.Reply = Delivered, reply
			return res, conn, nil
		}
		stage := txErr.stage
		code, reply := replyCode(txErr.err)
		if txErr.broken {
			_ = conn.c.Close()
			conn = nil
		} else {
			conn.lastUsed = time.Now()
		}
		if txErr.handedOver {
			// The server may have queued it: its cap slot stays taken, and
			// another attempt could deliver a second copy.
			log.Warn("smtp connection lost after the message was sent; not retrying", "to", msg.To.Email, "err", txErr.err)
			res.Status, res.Reply = OutcomeUnknown, "no reply after the message was sent"
			res.Err = fmt.Errorf("mailer: smtp %s: message handed over, but no reply came (the server may have queued it): %w", s.addr, txErr)
			return res, conn, nil
		}
		// Anything else certainly did not deliver the message.
		s.caps.release(slot)
		switch {
		case code >= 500 && stage == stageMail:
			fatal := fmt.Errorf("mailer: smtp %s rejected sender %s: %s", s.addr, from, reply)
			res.Status, res.Reply, res.Err = TempFailure, reply, fatal
			return res, conn, fatal
		case code >= 500:
			res.Status, res.Reply, res.Err = PermFailure, reply, fmt.Errorf("mailer: %w", txErr)
			return res, conn, nil
		}
		if attempt >= s.cfg.Retries {
			if reply == "" {
				reply = "connection lost"
			}
			res.Status, res.Reply, res.Err = TempFailure, reply, fmt.Errorf("mailer: after %d attempts: %w", attempt+1, txErr)
			return res, conn, nil
		}
		log.Warn("smtp temporary failure, retrying", "to", msg.To.Email, "stage", stage, "reply", reply, "err", txErr.err, "attempt", attempt+1)
		if msg.Released != nil {
			msg.Released()
		}
	}
}

// SMTP stages, named as in the protocol, for errors and cap accounting.
const (
	stageMail = "MAIL FROM"
	stageRcpt = "RCPT TO"
	stageData = "DATA"
)

// txError is a failed mail transaction.
type txError struct {
	stage string
	err   error
	// broken is set when the connection cannot carry another message:
	// no server reply (reset, timeout, EOF), 421, or RSET failed.
	broken bool
	// handedOver is set when the final "." of DATA was written but no
	// reply was read: the server may have queued the message.
	handedOver bool
}

func (e *txError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *txError) Unwrap() error { return e.err }

// transact runs one mail transaction on conn with the prebuilt bytes raw, so
// that exactly the bytes Build produced (and DKIM signed) go on the wire.
func (s *SMTPSender) transact(conn *smtpConn, from, to string, raw []byte) (string, *txError) {
	c := conn.c
	if err := c.UpdateDeadline(s.cfg.Timeout); err != nil {
		return "", &txError{stage: stageMail, err: err, broken: true}
	}
	if ok, _ := c.Extension("PIPELINING"); ok && !s.cfg.NoPipelining && isASCII(from+to) {
		return s.transactPipelined(c, from, to, raw)
	}
	if err := c.Mail(from); err != nil {
		return "", s.abortTransaction(c, stageMail, err)
	}
	if err := c.Rcpt(to); err != nil {
		return "", s.abortTransaction(c, stageRcpt, err)
	}
	// DATA goes through c.Text rather than go-mail's Data, whose Close
	// writes the final "." and reads the reply in one call: writeData must
	// know which of the two failed.
	id, err := c.Text.Cmd("DATA")
	if err != nil {
		return "", &txError{stage: stageData, err: err, broken: true}
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(354)
	c.Text.EndResponse(id)
	if err != nil {
		return "", s.abortTransaction(c, stageData, err)
	}
	return writeData(c.Text, raw)
}

// writeData writes raw as the content of an open DATA phase, then the final
// ".", and reads the server's reply. It tells a connection that broke before
// the "." was completely written (the server cannot have taken the message:
// a plain temporary failure) from one that broke after (the server may have
// queued it: handedOver). The content is flushed before the "." is written,
// so that the "." goes out in a write of its own whose failure is clear.
func writeData(t *textproto.Conn, raw []byte) (string, *txError) {
	w := t.DotWriter()
	if _, err := w.Write(raw); err != nil {
		return "", &txError{stage: stageData, err: err, broken: true}
	}
	if err := t.W.Flush(); err != nil {
		return "", &txError{stage: stageData, err: err, broken: true}
	}
	if err := w.Close(); err != nil {
		// bufio keeps what it could not write: nothing left means the "."
		// reached the connection although the write reported an error.
		return "", &txError{stage: stageData, err: err, broken: true, handedOver: t.W.Buffered() == 0}
	}
	_, msg, err := t.ReadResponse(250)
	if err != nil {
		code, _ := replyCode(err)
		return "", &txError{stage: stageData, err: err, broken: code == 0 || code == 421, handedOver: code == 0}
	}
	return "250 " + strings.ReplaceAll(msg, "\n", " "), nil
}

// transactPipelined is transact for a server that offers PIPELINING
// (RFC 2920): MAIL, RCPT and DATA are written without waiting and their
// replies read in order, so a message costs two round trips instead of
// four. Addresses are ASCII here (no SMTPUTF8 parameter needed) and the
// body is 7-bit, so no BODY parameter either.
func (s *SMTPSender) transactPipelined(c *gosmtp.Client, from, to string, raw []byte) (string, *txError) {
	t := c.Text
	stages := [3]string{stageMail, stageRcpt, stageData}
	cmds := [3]string{"MAIL FROM:" + from, "RCPT TO:" + to, "DATA"}
	want := [3]int{250, 25, 354}
	var ids [3]uint
	for i, cmd := range cmds {
		id, err := t.Cmd("%s", cmd)
		if err != nil {
			return "", &txError{stage: stages[i], err: err, broken: true}
		}
		ids[i] = id
	}
	var errs [3]error
	for i, id := range ids {
		t.StartResponse(id)
		_, _, err := t.ReadResponse(want[i])
		t.EndResponse(id)
		if err != nil {
			if code, _ := replyCode(err); code == 0 {
				return "", &txError{stage: stages[i], err: err, broken: true}
			}
			errs[i] = err
		}
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		if i < 2 && errs[2] == nil {
			// A server that opened DATA although MAIL or RCPT failed gets an
			// empty message, which it must refuse, before the RSET.
			if err := t.PrintfLine("."); err != nil {
				return "", &txError{stage: stages[i], err: err, broken: true}
			}
			if _, _, rerr := t.ReadResponse(0); rerr != nil {
				if code, _ := replyCode(rerr); code == 0 {
					return "", &txError{stage: stages[i], err: err, broken: true}
				}
			}
		}
		return "", s.abortTransaction(c, stages[i], err)
	}
	return writeData(t, raw)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// abortTransaction resets the session after a refused command so that the
// connection can carry the next message.
func (s *SMTPSender) abortTransaction(c *gosmtp.Client, stage string, err error) *txError {
	code, _ := replyCode(err)
	if code == 0 || code == 421 {
		return &txError{stage: stage, err: err, broken: true}
	}
	if rerr := c.Reset(); rerr != nil {
		s.opts.logger.Debug("smtp RSET failed; dropping the connection", "err", rerr)
		return &txError{stage: stage, err: err, broken: true}
	}
	return &txError{stage: stage, err: err}
}

// replyCode returns the SMTP reply code and text of err, or 0 when err is
// not a server reply (a broken connection, a timeout).
func replyCode(err error) (int, string) {
	var tp *textproto.Error
	if !errors.As(err, &tp) {
		return 0, ""
	}
	return tp.Code, fmt.Sprintf("%03d %s", tp.Code, strings.ReplaceAll(tp.Msg, "\n", " "))
}

func replyOf(err error, fallback string) string {
	if _, reply := replyCode(err); reply != "" {
		return reply
	}
	return fallback
}

func capReply(err error) string {
	if errors.Is(err, ErrCapReached) {
		return strings.TrimPrefix(err.Error(), "mailer: ")
	}
	return "not sent: run stopped"
}

// dialedConnKey carries, in the dial context, where the dial function
// records the connection it opened.
type dialedConnKey struct{}

// dial opens a connection: TLS, EHLO and AUTH as configured. On failure the
// connection, if one was opened, is closed.
func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	var opened net.Conn
	c, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, dialedConnKey{}, &opened))
	if err != nil {
		if opened != nil {
			_ = opened.Close()
		}
		return nil, err
	}
	s.opts.logger.Debug("smtp connected", "server", s.addr, "tls", s.cfg.TLS.String())
	return &smtpConn{c: c, lastUsed: time.Now()}, nil
}

// retryableDialError tells a passing network problem (refused, reset,
// timeout, 4xx greeting) from one no retry fixes (bad credentials, TLS
// required but not offered, untrusted certificate).
func retryableDialError(err error) bool {
	var (
		tp       *textproto.Error
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tp):
		return tp.Code >= 400 && tp.Code < 500
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &invalid), errors.As(err, &alertErr), errors.As(err, &recErr):
		return false
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// backoff returns the wait before retry attempt n (1-based): RetryMin
// doubled each time up to RetryMax, with ±20% jitter.
func (s *SMTPSender) backoff(n int) time.Duration {
	d := s.cfg.RetryMin
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserveCap takes a slot under the hourly and daily caps, waiting up to
// CapWait (and never past ctx's deadline) for one to free.
func (s *SMTPSender) reserveCap(ctx context.Context) (capSlot, error) {
	for {
		slot, wait, err := s.caps.reserve(time.Now())
		if err == nil {
			return slot, nil
		}
		if wait > s.caps.maxWait() {
			return capSlot{}, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return capSlot{}, err
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return capSlot{}, err
		}
	}
}
