package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var sandboxURLRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startSandbox runs `couponbridge sandbox` in-process and returns its URL
// and a function that stops it and returns the exit code.
func startSandbox(t *testing.T, args ...string) (string, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	env := &cliEnv{Stdout: stdout, Stderr: stderr}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...), env) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := sandboxURLRE.FindStringSubmatch(stdout.String()); m != nil {
			stop := func() int { cancel(); return <-done }
			return m[1], stdout, stop
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("sandbox exited with %d before listening; stderr: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sandbox did not print its URL; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSandboxServesOAuthAndStopsCleanly(t *testing.T) {
	dataFile := filepath.Join(t.TempDir(), "sandbox.json")
	url, stdout, stop := startSandbox(t, "--data", dataFile, "--batch-limit", "10")
	out := stdout.String()
	for _, want := range []string{wootest.DefaultKey, wootest.DefaultSecret, "auth_mode: oauth1", "url: " + url} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	c, err := woo.NewClient(url, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret), woo.WithAuthMode(woo.AuthOAuth1))
	if err != nil {
		t.Fatal(err)
	}
	batch := &woo.CouponBatch{}
	for i := range 15 { // over --batch-limit: the client must split after the 413
		batch.Create = append(batch.Create, woo.Coupon{Code: "SANDBOX-" + string(rune('A'+i)), Amount: "5"})
	}
	res, err := c.Coupons.Batch(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range res.Create {
		if it.Err != nil {
			t.Fatalf("item %d: %v", i, it.Err)
		}
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit code after cancel = %d, want %d", code, exitOK)
	}
	b, err := os.ReadFile(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"sandbox-o"`) {
		t.Errorf("data file lacks the created coupons")
	}

	// A restart serves the saved coupons.
	url2, _, stop2 := startSandbox(t, "--data", dataFile)
	defer stop2()
	c2, err := woo.NewClient(url2, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret), woo.WithAuthMode(woo.AuthOAuth1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Coupons.GetByCode(t.Context(), "sandbox-c"); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func TestSandboxRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sandbox", "--batch-limit", "0"},
		{"sandbox", "--error-ratio", "1.5"},
		{"sandbox", "--rate-limit", "-1"},
		{"sandbox", "--timezone", "Mars/Olympus"},
		{"sandbox", "extra"},
	} {
		stderr := &lockedBuffer{}
		if code := run(t.Context(), args, &cliEnv{Stdout: &lockedBuffer{}, Stderr: stderr}); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, exitUsage, stderr.String())
		}
	}
}
