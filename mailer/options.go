package mailer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// SenderOption configures an SMTPSender or an Outbox.
type SenderOption func(*senderOptions) error

type senderOptions struct {
	logger *slog.Logger
	dkim   *dkimSigner
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newSenderOptions(opts []SenderOption) (*senderOptions, error) {
	o := &senderOptions{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("mailer: nil SenderOption")
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithLogger sets the logger (default: discard). Recipient addresses are
// logged at debug level only; passwords never.
func WithLogger(l *slog.Logger) SenderOption {
	return func(o *senderOptions) error {
		if l == nil {
			return errors.New("mailer: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithDialer makes an SMTPSender open its connections with dial instead of
// a plain TCP dial: a SOCKS or other proxy, or an in-memory pipe in tests.
// TLS (implicit or STARTTLS) still runs on top. The Outbox ignores it.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) SenderOption {
	return func(o *senderOptions) error {
		if dial == nil {
			return errors.New("mailer: WithDialer: nil dial function")
		}
		o.dial = dial
		return nil
	}
}

// DKIMConfig is a DKIM signing key: the public key is published in DNS at
// Selector._domainkey.Domain.
type DKIMConfig struct {
	Domain, Selector string
	// PrivateKeyPEM is an RSA (PKCS #1 or PKCS #8) or Ed25519 (PKCS #8) key.
	PrivateKeyPEM []byte
}

// dkimHeaders are the header fields signed; List-Unsubscribe and
// List-Unsubscribe-Post must be covered for one-click unsubscribe (RFC 8058).
// Fields named but absent are signed as absent, so they cannot be added later.
var dkimHeaders = []string{"From", "Reply-To", "To", "Subject", "Date", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post"}

// WithDKIM signs every message with the key in c.
func WithDKIM(c DKIMConfig) SenderOption {
	return func(o *senderOptions) error {
		s, err := newDKIMSigner(c)
		if err != nil {
			return err
		}
		o.dkim = s
		return nil
	}
}

type dkimSigner struct {
	domain, selector string
	key              crypto.Signer
}

func newDKIMSigner(c DKIMConfig) (*dkimSigner, error) {
	domain, selector := strings.TrimSpace(c.Domain), strings.TrimSpace(c.Selector)
	if domain == "" || selector == "" {
		return nil, errors.New("mailer: DKIM needs a domain and a selector")
	}
	if strings.ContainsFunc(domain+selector, invalidIDRune) {
		return nil, fmt.Errorf("mailer: DKIM domain %q or selector %q has invalid characters", domain, selector)
	}
	block, _ := pem.Decode(c.PrivateKeyPEM)
	if block == nil {
		return nil, errors.New("mailer: DKIM private key: no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("mailer: DKIM private key: unsupported PEM type %q (want RSA PRIVATE KEY or PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("mailer: DKIM private key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("mailer: DKIM RSA key has %d bits; receivers require at least 1024 (2048 recommended)", k.N.BitLen())
		}
		return &dkimSigner{domain, selector, k}, nil
	case ed25519.PrivateKey:
		return &dkimSigner{domain, selector, k}, nil
	default:
		return nil, fmt.Errorf("mailer: DKIM private key: unsupported key type %T (want RSA or Ed25519)", key)
	}
}

// sign returns raw preceded by its DKIM-Signature header.
func (s *dkimSigner) sign(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(raw) + 512)
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain:                 s.domain,
		Selector:               s.selector,
		Signer:                 s.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             dkimHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("mailer: DKIM signing: %w", err)
	}
	return out.Bytes(), nil
}

// render builds msg and signs it when DKIM is configured: the bytes both
// senders deliver.
func (o *senderOptions) render(msg Message) ([]byte, string, error) {
	raw, id, err := build(msg)
	if err != nil {
		return nil, "", err
	}
	if o.dkim != nil {
		if raw, err = o.dkim.sign(raw); err != nil {
			return nil, "", err
		}
	}
	return raw, id, nil
}
