package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
)

// BenchmarkSMTP compares keeping connections open across messages with
// opening a new connection for every message (connect, EHLO, STARTTLS and
// AUTH when configured, QUIT), against the in-process server on loopback,
// with the default templates' message. Metric: msgs/s.
//
// "starttls+auth" is the configuration every non-loopback server gets
// (StartTLS is the default and clear text is refused off loopback); "plain"
// is a loopback relay without TLS or AUTH, shown for comparison. Target:
// reuse ≥ 5× the new-connection figure and ≥ 500 msgs/s.
func BenchmarkSMTP(b *testing.B) {
	tmpl, err := LoadTemplates(TemplateSource{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage(1, "bench@example.net")
	msg.Subject, msg.Text, msg.HTML, err = tmpl.Render(goldenData())
	if err != nil {
		b.Fatal(err)
	}
	serverTLS, clientTLS := selfSignedTLS(b)

	for _, mode := range []struct {
		name   string
		server *testServer
		cfg    func(conns int) SMTPConfig
	}{
		{"starttls+auth", startServer(b, serverTLS, false, withAuth("shop", "s3cret")), nil},
		{"plain", startServer(b, nil, false), nil},
	} {
		ts := mode.server
		ts.discard = true
		cfg := func(conns int) SMTPConfig {
			c := SMTPConfig{Host: ts.host, Port: ts.port, TLS: NoTLS, Auth: AuthNone, Connections: conns}
			if mode.name == "starttls+auth" {
				c.TLS, c.TLSConfig = StartTLS, clientTLS.Clone()
				c.TLSConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0) // give new connections TLS resumption
				c.Auth, c.Username, c.Password = AuthPlain, "shop", "s3cret"
			}
			return c
		}
		for _, conns := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/reuse-%dconn", mode.name, conns), func(b *testing.B) {
				s, err := NewSMTPSender(cfg(conns))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				msgs := make([]Message, b.N)
				for i := range msgs {
					msgs[i] = msg
					msgs[i].Key = fmt.Sprint(i)
				}
				failed := 0
				b.ResetTimer()
				if err := s.Send(context.Background(), msgs, func(r Result) {
					if r.Status != Delivered {
						failed++
					}
				}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if failed > 0 {
					b.Fatalf("%d messages not delivered", failed)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
		newConn := func(b *testing.B, c SMTPConfig) {
			failed := 0
			for i := 0; i < b.N; i++ {
				s, err := NewSMTPSender(c)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Send(context.Background(), []Message{msg}, func(r Result) {
					if r.Status != Delivered {
						failed++
					}
				}); err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d messages not delivered", failed)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		}
		b.Run(mode.name+"/new-conn-per-message", func(b *testing.B) { newConn(b, cfg(1)) })
		if mode.name == "starttls+auth" {
			// What a sender without a TLS session cache pays (Go's default).
			b.Run(mode.name+"/new-conn-per-message-no-resumption", func(b *testing.B) {
				c := cfg(1)
				c.TLSConfig.ClientSessionCache = nil
				newConn(b, c)
			})
		}
	}
}
