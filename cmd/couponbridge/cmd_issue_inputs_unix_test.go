//go:build unix

package main

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestIssueRefusesARecipientListThatIsAFIFO: a list that is a named pipe
// (here behind a symlink) blocked the open forever; it is refused at once,
// before the ledger or the store is touched, as the input error it is
// (exit 2, like every refused list).
func TestIssueRefusesARecipientListThatIsAFIFO(t *testing.T) {
	s := newSandboxSetup(t)
	fifo := s.path("pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	list := s.path("list.csv")
	if err := os.Symlink(fifo, list); err != nil {
		t.Fatal(err)
	}
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, list) || !strings.Contains(r.stderr, "not a regular file (it is a named pipe)") {
		t.Errorf("want the list named and refused as a named pipe, got:\n%v", r)
	}
	if st := s.store.Stats(); st.Requests != 0 {
		t.Errorf("sent %d requests", st.Requests)
	}
	if _, err := os.Stat(s.path("ledger.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created the ledger: %v", err)
	}
}
