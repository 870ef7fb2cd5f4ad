package mailer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// dkimKey returns a PEM private key and the DNS TXT record publishing it.
func dkimKey(t testing.TB, kind string) (pemKey []byte, txt string) {
	t.Helper()
	var priv crypto.Signer
	var pub []byte
	var k string
	switch kind {
	case "ed25519":
		pk, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, k = sk, pk, "ed25519"
	case "rsa":
		sk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&sk.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, k = sk, der, "rsa"
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"v=DKIM1; k=" + k + "; p=" + base64.StdEncoding.EncodeToString(pub)
}

func verifyDKIM(t *testing.T, raw []byte, txt string) *dkim.Verification {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != "cb2026._domainkey.shop.example" {
				t.Errorf("DKIM lookup of %q, want cb2026._domainkey.shop.example", domain)
			}
			return []string{txt}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d DKIM signatures, want 1", len(vs))
	}
	return vs[0]
}

func TestDKIMSignatureVerifies(t *testing.T) {
	for _, kind := range []string{"ed25519", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			key, txt := dkimKey(t, kind)
			o, err := NewOutbox(t.TempDir(), WithDKIM(DKIMConfig{Domain: "shop.example", Selector: "cb2026", PrivateKeyPEM: key}))
			if err != nil {
				t.Fatal(err)
			}
			m := testMessage(1, "a@example.net")
			m.ListUnsubscribe = []string{"https://shop.example/u/1"}
			m.OneClickUnsubscribe = true
			rec := newRecorder(t)
			if err := o.Send(context.Background(), []Message{m}, rec.report); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(strings.TrimPrefix(rec.get(m.Key).Reply, "written to "))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(raw, []byte("DKIM-Signature: ")) {
				t.Fatalf("message does not start with a DKIM-Signature header:\n%.200s", raw)
			}
			v := verifyDKIM(t, raw, txt)
			if v.Err != nil || v.Domain != "shop.example" {
				t.Fatalf("verification: domain %q err %v, want shop.example and no error", v.Domain, v.Err)
			}
			for _, h := range []string{"from", "to", "subject", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
					t.Errorf("signature does not cover %s (covers %v)", h, v.HeaderKeys)
				}
			}
			tampered := bytes.Replace(raw, []byte("CODE-0001"), []byte("CODE-9999"), 1)
			if v := verifyDKIM(t, tampered, txt); v.Err == nil {
				t.Error("a changed code still verifies")
			}
		})
	}
}

func TestDKIMSignedOverSMTP(t *testing.T) {
	key, txt := dkimKey(t, "ed25519")
	ts := startServer(t, nil, false)
	s := newTestSender(t, ts, nil, WithDKIM(DKIMConfig{Domain: "shop.example", Selector: "cb2026", PrivateKeyPEM: key}))
	rec := newRecorder(t)
	if err := s.Send(context.Background(), []Message{testMessage(1, "a@example.net")}, rec.report); err != nil {
		t.Fatal(err)
	}
	d := ts.Delivered()
	if len(d) != 1 {
		t.Fatalf("%d delivered, want 1", len(d))
	}
	if v := verifyDKIM(t, d[0].Data, txt); v.Err != nil {
		t.Fatalf("signature of the delivered message: %v", v.Err)
	}
}

func TestWithDKIMRejectsBadKeys(t *testing.T) {
	key, _ := dkimKey(t, "ed25519")
	for name, c := range map[string]DKIMConfig{
		"no selector":  {Domain: "shop.example", PrivateKeyPEM: key},
		"no domain":    {Selector: "s", PrivateKeyPEM: key},
		"not PEM":      {Domain: "shop.example", Selector: "s", PrivateKeyPEM: []byte("secret")},
		"wrong PEM":    {Domain: "shop.example", Selector: "s", PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})},
		"bad selector": {Domain: "shop.example", Selector: "a b", PrivateKeyPEM: key},
	} {
		if _, err := NewOutbox(t.TempDir(), WithDKIM(c)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewOutbox(t.TempDir(), WithLogger(nil)); err == nil {
		t.Error("WithLogger(nil) accepted")
	}
}
