package mailer

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestCheckAcceptsAGoodLoginOverSTARTTLSAndSendsNothing(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ts := startServer(t, serverTLS, false, withAuth("shop", "s3cret"))
	s := newTestSender(t, ts, func(c *SMTPConfig) {
		c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = StartTLS, clientTLS, AuthPlain, "shop", "s3cret"
	})
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v, want nil", err)
	}
	if n := len(ts.Delivered()); n != 0 {
		t.Errorf("Check delivered %d messages, want 0", n)
	}
	ts.waitAllClosed(t) // it said QUIT
}

func TestCheckReportsARefusedLogin(t *testing.T) {
	ts := startServer(t, nil, false, withAuth("shop", "right"))
	s := newTestSender(t, ts, func(c *SMTPConfig) { c.Auth, c.Username, c.Password = AuthLogin, "shop", "wrong" })
	err := s.Check(context.Background())
	if !errors.Is(err, ErrLoginRefused) || !strings.Contains(err.Error(), "535") {
		t.Fatalf("Check = %v, want ErrLoginRefused with the server's 535 reply", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	ts.waitAllClosed(t)
}

func TestCheckReportsAnUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ts := &testServer{host: "127.0.0.1", port: port}
	s := newTestSender(t, ts, nil)
	err = s.Check(context.Background())
	if err == nil || errors.Is(err, ErrLoginRefused) || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("Check = %v, want a connection error naming the server", err)
	}
}
