package main

import (
	"strings"
	"testing"
)

func TestDaemonPublicURLNeedsAnUnsubscribeSecretNamedByKey(t *testing.T) {
	for _, tt := range []struct {
		daemon string
		want   []string
	}{
		{"  public_url: https://shop.example.com/couponbridge\n", []string{"daemon.unsubscribe_secret", "is required with daemon.public_url"}},
		{"  public_url: https://shop.example.com/couponbridge\n  unsubscribe_secret: short\n", []string{"daemon.unsubscribe_secret", "at least 16"}},
		{"  public_url: shop.example.com\n  unsubscribe_secret: a-secret-of-more-than-16-bytes\n", []string{"daemon.public_url", "https://"}},
		{"  public_url: https://shop.example.com/cb?x=1\n  unsubscribe_secret: a-secret-of-more-than-16-bytes\n", []string{"daemon.public_url", "no query"}},
	} {
		_, err := parseTest(t, t.TempDir(), baseConfig+"daemon:\n"+tt.daemon, nil)
		if err == nil {
			t.Errorf("%q: no error", tt.daemon)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.daemon, err, w)
			}
		}
	}
	cfg := mustParse(t, t.TempDir(), baseConfig+"daemon:\n  public_url: https://shop.example.com/couponbridge/\n",
		map[string]string{"COUPONBRIDGE_UNSUBSCRIBE_SECRET": "a-secret-of-more-than-16-bytes"})
	links := cfg.unsubscribeLinks()
	if links == nil {
		t.Fatal("no unsubscribe links with public_url and the secret from the environment")
	}
	if l := links.Link("welcome", "ann@example.com"); !strings.HasPrefix(l, "https://shop.example.com/couponbridge/unsubscribe?") {
		t.Errorf("link = %q", l)
	}
	if s := cfg.Daemon.UnsubscribeSecret.String(); strings.Contains(s, "secret-of") {
		t.Errorf("the secret prints as %q", s)
	}
}
