package campaign

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadOnlyLedgerReadsBesideTheWriterAndWritesNothing(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("readonly")
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(5))); err != nil {
		t.Fatal(err)
	}
	// The writer still holds the ledger (and its lock).
	ro, err := OpenLedgerReadOnly(ctx, h.ledger.Path(), nil)
	if err != nil {
		t.Fatalf("read-only open beside the writer: %v", err)
	}
	defer ro.Close()
	sum, err := ro.Summary(ctx, c.Name)
	if err != nil || sum.Count(StateEmailed) != 5 {
		t.Fatalf("summary through the read-only ledger: %+v, %v; want 5 emailed", sum.Counts, err)
	}
	row, _, err := ro.Issue(ctx, c.Name, issEmail(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.apply(ctx, toFailed(row.ID, StateEmailed, StageEmail, "must not be written")); err == nil {
		t.Fatal("a write through the read-only ledger succeeded")
	}
	if again, _, err := h.ledger.Issue(ctx, c.Name, issEmail(0)); err != nil || again.State != StateEmailed {
		t.Fatalf("row after the refused write: %+v, %v", again, err)
	}
}

func TestReadOnlyLedgerRefusesAMissingFileAndCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "none.db")
	_, err := OpenLedgerReadOnly(t.Context(), path, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error matching fs.ErrNotExist", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("the read-only open left files behind: %v", entries)
	}
}
