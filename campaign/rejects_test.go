package campaign

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRejectsPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lists/in.csv", "lists/in.rejects.csv"},
		{"in.csv", "in.rejects.csv"},
		{"/data/list.v2.txt", "/data/list.v2.rejects.txt"},
		{"lists/in", "lists/in.rejects.csv"},
		{"lists/.hidden", "lists/.hidden.rejects.csv"},
	}
	for _, tt := range tests {
		if got := RejectsPath(tt.in); got != tt.want {
			t.Errorf("RejectsPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRejectsWriterCreatesNoFileWithoutRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.rejects.csv")
	w := NewRejectsWriter(path)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Stat(%s) = %v, want not exist", path, err)
	}
	if w.Count() != 0 {
		t.Errorf("Count() = %d, want 0", w.Count())
	}
}

func TestRejectsWriterWritesLineReasonAndFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.rejects.csv")
	// An older, world-readable file is replaced and tightened to 0600.
	if err := os.WriteFile(path, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewRejectsWriter(path)
	w.SetHeader([]string{"E-Mail", "Name"})
	for _, r := range []Reject{
		{Line: 3, Reason: `email "bob@": missing domain`, Record: []string{"bob@", "Bob, Jr."}},
		{Line: 7, Reason: "not valid CSV at column 4: bare \" in non-quoted-field"},
	} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.Write(Reject{Line: 9}); err == nil {
		t.Error("Write after Close = nil, want error")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %v, want 0600", perm)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"line", "reason", "E-Mail", "Name"},
		{"3", `email "bob@": missing domain`, "bob@", "Bob, Jr."},
		{"7", "not valid CSV at column 4: bare \" in non-quoted-field"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("file rows = %q, want %q", rows, want)
	}
	if w.Count() != 2 {
		t.Errorf("Count() = %d, want 2", w.Count())
	}
}

func TestRejectsWriterRoundTripsReaderRejects(t *testing.T) {
	rr := mustReader(t, "email;name\nbad;\"x;y\"\ngood@example.com;G\n")
	path := filepath.Join(t.TempDir(), RejectsPath("in.csv"))
	w := NewRejectsWriter(path)
	w.SetHeader(rr.RawHeader())
	_, rejects := readAll(t, rr)
	for _, r := range rejects {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "line,reason,email,name\n2,\"email \"\"bad\"\": missing @\",bad,x;y\n"
	if string(b) != want {
		t.Errorf("rejects file =\n%s\nwant\n%s", b, want)
	}
}

func TestRejectsWriterReportsCreateError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "in.rejects.csv")
	w := NewRejectsWriter(path)
	err := w.Write(Reject{Line: 2, Reason: "x"})
	if err == nil || !strings.Contains(err.Error(), "creating rejects file") {
		t.Errorf("Write = %v, want a create error", err)
	}
	if err2 := w.Write(Reject{Line: 3, Reason: "y"}); err2 == nil {
		t.Error("second Write after a failure = nil, want the same error")
	}
}

func TestRejectsWriterReplacesAPlantedSymlinkWithoutTouchingItsTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "in.rejects.csv")
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	w := NewRejectsWriter(path)
	if err := w.Write(Reject{Line: 2, Reason: "x", Record: []string{"bad"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(target)
	if err != nil || string(b) != "keep me\n" {
		t.Errorf("symlink target = %q, %v; want it untouched", b, err)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("symlink target mode = %v, %v; want 0644 untouched", st.Mode(), err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rejects file = %v, %v; want a regular 0600 file in place of the symlink", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != "line,reason\n2,x,bad\n" {
		t.Errorf("rejects file = %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRejectsWriterWritesFormulaCellsAsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.rejects.csv")
	w := NewRejectsWriter(path)
	w.SetHeader([]string{"email", "=HEADER()"})
	if err := w.Write(Reject{Line: 2, Reason: "x", Record: []string{"=1+2", "@SUM(A1)", "-3+cmd|'/C calc'!A0", "-5.00"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "line,reason,email,'=HEADER()\n2,x,'=1+2,'@SUM(A1),'-3+cmd|'/C calc'!A0,-5.00\n"
	if string(b) != want {
		t.Errorf("rejects file =\n%s\nwant\n%s", b, want)
	}
}
