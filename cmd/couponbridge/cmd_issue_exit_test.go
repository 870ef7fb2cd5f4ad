package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// closedLoopbackURL returns an http URL on a loopback port nothing listens on.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestIssueExitsOneWithCauseWhenStoreUnreachable(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "couponbridge.yaml")
	text := fmt.Sprintf(sandboxConfigTemplate, closedLoopbackURL(t), wootest.DefaultKey, wootest.DefaultSecret)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(list, []byte(testList), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.Context(), nil, "--config", cfg, "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitError)
	last := lastLine(r.stderr)
	if !strings.Contains(last, "store unreachable") || !strings.Contains(last, "connection refused") {
		t.Errorf("last line %q; want the cause: store unreachable ... connection refused\n%v", last, r)
	}
	st := runCLI(t, t.Context(), nil, "--config", cfg, "status", "welcome")
	if !strings.Contains(st.stdout, "connection refused") {
		t.Errorf("status does not show the store's last error:\n%v", st)
	}
}
