package mailer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testServer is an in-process SMTP server (emersion/go-smtp on 127.0.0.1:0)
// that records what it accepted and follows a script of failures.
type testServer struct {
	host string
	port int
	srv  *smtp.Server

	// user and pass, when set, make AUTH (PLAIN, LOGIN, CRAM-MD5) mandatory.
	user, pass string
	// onRcpt and onData may refuse a recipient (return an error, e.g. an
	// *smtp.SMTPError) or drop the connection (call drop). n counts how many
	// times this recipient reached that stage, from 1.
	onMail func(from string) error
	// discard counts accepted messages without keeping them (benchmarks).
	discard  bool
	accepted int
	onRcpt   func(to string, n int, drop func()) error
	onData   func(to string, n int, drop func()) error
	// onBody, when it returns true, makes the server drop the connection
	// after reading the first bytes of the body. n counts bodies started
	// for this recipient, from 1.
	onBody   func(to string, n int) bool
	bodySeen map[string]int

	mu        sync.Mutex
	sessions  int
	logouts   int
	rcptSeen  map[string]int
	dataSeen  map[string]int
	delivered []delivery
	authMechs []string
}

// delivery is one message the server accepted.
type delivery struct {
	From, To string
	Data     []byte
	TLS      bool
	AuthUser string
}

type serverOption func(*testServer)

func withAuth(user, pass string) serverOption {
	return func(s *testServer) { s.user, s.pass = user, pass }
}

// startServer starts a server; tlsConf enables STARTTLS, implicit serves TLS
// from the first byte.
func startServer(t testing.TB, tlsConf *tls.Config, implicit bool, opts ...serverOption) *testServer {
	t.Helper()
	ts := &testServer{rcptSeen: map[string]int{}, dataSeen: map[string]int{}}
	for _, o := range opts {
		o(ts)
	}
	srv := smtp.NewServer(ts)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.TLSConfig = tlsConf
	ts.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, tlsConf)
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	ts.host = host
	ts.port, _ = strconv.Atoi(port)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

func (ts *testServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ts.mu.Lock()
	ts.sessions++
	ts.mu.Unlock()
	return &testSession{ts: ts, conn: c}, nil
}

func (ts *testServer) Sessions() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions
}

func (ts *testServer) Delivered() []delivery {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]delivery(nil), ts.delivered...)
}

type testSession struct {
	ts       *testServer
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (s *testSession) drop() { _ = s.conn.Conn().Close() }

func (s *testSession) AuthMechanisms() []string {
	if s.ts.user == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login, "CRAM-MD5"}
}

var errBadCredentials = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	s.ts.mu.Lock()
	s.ts.authMechs = append(s.ts.authMechs, mech)
	s.ts.mu.Unlock()
	check := func(user, pass string) error {
		if user != s.ts.user || pass != s.ts.pass {
			return errBadCredentials
		}
		s.authUser = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	case "CRAM-MD5":
		return &cramServer{s: s}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the client).
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// cramServer is the server side of AUTH CRAM-MD5 (RFC 2195).
type cramServer struct {
	s         *testSession
	challenge string
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == "" {
		c.challenge = fmt.Sprintf("<%d.%d@mx.test>", time.Now().UnixNano(), 42)
		return []byte(c.challenge), false, nil
	}
	user, digest, ok := strings.Cut(string(resp), " ")
	mac := hmac.New(md5.New, []byte(c.s.ts.pass))
	mac.Write([]byte(c.challenge))
	if !ok || user != c.s.ts.user || !hmac.Equal([]byte(digest), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return nil, true, errBadCredentials
	}
	c.s.authUser = user
	return nil, true, nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	if s.ts.onMail != nil {
		if err := s.ts.onMail(from); err != nil {
			return err
		}
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ts.mu.Lock()
	s.ts.rcptSeen[to]++
	n := s.ts.rcptSeen[to]
	s.ts.mu.Unlock()
	if s.ts.onRcpt != nil {
		if err := s.ts.onRcpt(to, n, s.drop); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	if s.ts.onBody != nil {
		for _, to := range s.to {
			s.ts.mu.Lock()
			if s.ts.bodySeen == nil {
				s.ts.bodySeen = map[string]int{}
			}
			s.ts.bodySeen[to]++
			n := s.ts.bodySeen[to]
			s.ts.mu.Unlock()
			if s.ts.onBody(to, n) {
				_, _ = io.CopyN(io.Discard, r, 100)
				s.drop()
				return errDropped
			}
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		s.ts.mu.Lock()
		s.ts.dataSeen[to]++
		n := s.ts.dataSeen[to]
		s.ts.mu.Unlock()
		if s.ts.onData != nil {
			if err := s.ts.onData(to, n, s.drop); err != nil {
				return err
			}
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.accepted += len(s.to)
	if s.ts.discard {
		return nil
	}
	for _, to := range s.to {
		s.ts.delivered = append(s.ts.delivered, delivery{From: s.from, To: to, Data: bytes.Clone(b), TLS: isTLS, AuthUser: s.authUser})
	}
	return nil
}

func (s *testSession) Reset() { s.from, s.to = "", nil }

func (s *testSession) Logout() error {
	s.ts.mu.Lock()
	s.ts.logouts++
	s.ts.mu.Unlock()
	return nil
}

// waitAllClosed fails unless every connection the server accepted is closed
// within a few seconds (the server notices a client's close asynchronously).
func (ts *testServer) waitAllClosed(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ts.mu.Lock()
		open := ts.sessions - ts.logouts
		ts.mu.Unlock()
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open, want the client to close every connection", open)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errDropped is what a scripted hook returns after dropping the connection.
var errDropped = errors.New("connection dropped by test script")

// selfSignedTLS returns a server config with a fresh certificate for
// 127.0.0.1 and a client config trusting only it.
func selfSignedTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
