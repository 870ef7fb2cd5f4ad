package mailer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOutboxWritesTheBuiltMessageAtomicallyWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	msgs := []Message{testMessage(1, "a@example.net"), testMessage(2, "b@example.net")}
	if err := o.Send(context.Background(), msgs, rec.report); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files, want 2 (and no temporary files)", len(entries))
	}
	for _, m := range msgs {
		r := rec.get(m.Key)
		if r.Status != Delivered {
			t.Fatalf("%s: %+v, want Delivered", m.Key, r)
		}
		path := strings.TrimPrefix(r.Reply, "written to ")
		if filepath.Dir(path) != dir || !strings.HasSuffix(path, ".eml") {
			t.Errorf("reply %q does not name an .eml file in %s", r.Reply, dir)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		got, _ := os.ReadFile(path)
		want, _ := Build(m)
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not byte for byte Build(msg)", path)
		}
		p := parseMail(t, got)
		if p.Header.Get("Message-ID") != m.MessageID {
			t.Errorf("Message-ID %q, want %q", p.Header.Get("Message-ID"), m.MessageID)
		}
	}
}

func TestOutboxResendOverwritesInsteadOfDuplicating(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage(1, "a@example.net")
	rec := newRecorder(t)
	if err := o.Send(context.Background(), []Message{m}, rec.report); err != nil {
		t.Fatal(err)
	}
	first := rec.get(m.Key).Reply
	m.Text = "Your code: CODE-0001 (resent)\n"
	rec2 := newRecorder(t)
	if err := o.Send(context.Background(), []Message{m}, rec2.report); err != nil {
		t.Fatal(err)
	}
	if second := rec2.get(m.Key).Reply; second != first {
		t.Errorf("resend wrote %q, first send %q; want the same file", second, first)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("outbox holds %d files after a resend, want 1", len(entries))
	}
	b, _ := os.ReadFile(strings.TrimPrefix(first, "written to "))
	if !strings.Contains(parseMail(t, b).Text, "(resent)") {
		t.Error("the file holds the first version, want the resent one")
	}
}

func TestOutboxNamesFilesByKeyWithoutMessageID(t *testing.T) {
	o, err := NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage(1, "a@example.net")
	m.MessageID = ""
	m.Key = "campaign/42"
	var names []string
	for range 2 {
		rec := newRecorder(t)
		if err := o.Send(context.Background(), []Message{m}, rec.report); err != nil {
			t.Fatal(err)
		}
		names = append(names, rec.get(m.Key).Reply)
	}
	if names[0] != names[1] || !strings.Contains(names[0], "campaign42-") {
		t.Errorf("file names %q, want the same name derived from the key", names)
	}
}

func TestOutboxFailuresAreReportedForEveryMessage(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	bad := testMessage(1, "a@example.net")
	bad.From.Email = ""
	rec := newRecorder(t)
	if err := o.Send(context.Background(), []Message{bad, testMessage(2, "b@example.net")}, rec.report); err != nil {
		t.Fatal(err)
	}
	if r := rec.get("key-1"); r.Status != PermFailure || !errors.Is(r.Err, ErrInvalidMessage) {
		t.Errorf("unbuildable: %+v, want PermFailure", r)
	}
	if r := rec.get("key-2"); r.Status != Delivered {
		t.Errorf("next message: %+v, want Delivered", r)
	}

	// The folder replaced by a file: writing fails, the run stops, nothing is dropped.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rec = newRecorder(t)
	err = o.Send(context.Background(), []Message{testMessage(3, "c@example.net"), testMessage(4, "d@example.net")}, rec.report)
	if err == nil {
		t.Fatal("Send into a missing folder succeeded")
	}
	for _, k := range []string{"key-3", "key-4"} {
		if r := rec.get(k); r.Status != TempFailure || r.Err == nil {
			t.Errorf("%s: %+v, want TempFailure", k, r)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o2, _ := NewOutbox(t.TempDir())
	rec = newRecorder(t)
	if err := o2.Send(ctx, []Message{testMessage(5, "e@example.net")}, rec.report); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	if r := rec.get("key-5"); r.Status != TempFailure || !errors.Is(r.Err, context.Canceled) {
		t.Errorf("%+v, want TempFailure wrapping context.Canceled", r)
	}
}
