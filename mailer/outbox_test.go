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

func TestOutboxNeverOverwritesAnEarlierMessage(t *testing.T) {
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
	first := strings.TrimPrefix(rec.get(m.Key).Reply, "written to ")
	// The same Message-ID again (a message a caller sends twice): a second
	// file, the first one untouched.
	m.Text = "Your code: CODE-0001 (again)\n"
	rec2 := newRecorder(t)
	if err := o.Send(context.Background(), []Message{m}, rec2.report); err != nil {
		t.Fatal(err)
	}
	second := strings.TrimPrefix(rec2.get(m.Key).Reply, "written to ")
	if second == first || rec2.get(m.Key).Status != Delivered {
		t.Fatalf("second send: %+v, want Delivered to a file other than %s", rec2.get(m.Key), first)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files after a second send, want 2 (and no temporary files)", len(entries))
	}
	b, _ := os.ReadFile(first)
	if strings.Contains(parseMail(t, b).Text, "(again)") {
		t.Error("the first file was overwritten by the second send")
	}
	b, _ = os.ReadFile(second)
	if !strings.Contains(parseMail(t, b).Text, "(again)") {
		t.Errorf("%s does not hold the second message", second)
	}
	if fi, err := os.Stat(second); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("second file: %v %v, want mode 0600", fi, err)
	}
}

func TestOutboxWritesAResendWithItsOwnMessageIDBesideTheFirst(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage(1, "a@example.net")
	resend := m
	resend.MessageID = NewMessageID("shop.example")
	resend.InReplyTo, resend.References = m.MessageID, []string{m.MessageID}
	rec := newRecorder(t)
	if err := o.Send(context.Background(), []Message{m}, rec.report); err != nil {
		t.Fatal(err)
	}
	rec2 := newRecorder(t)
	if err := o.Send(context.Background(), []Message{resend}, rec2.report); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files, want the first and the resend", len(entries))
	}
	b, _ := os.ReadFile(strings.TrimPrefix(rec2.get(m.Key).Reply, "written to "))
	p := parseMail(t, b)
	if p.Header.Get("Message-ID") != resend.MessageID || p.Header.Get("References") != m.MessageID ||
		p.Header.Get("In-Reply-To") != m.MessageID {
		t.Errorf("resend headers Message-ID %q References %q In-Reply-To %q, want %s referring to %s",
			p.Header.Get("Message-ID"), p.Header.Get("References"), p.Header.Get("In-Reply-To"), resend.MessageID, m.MessageID)
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
	if !strings.Contains(names[0], "campaign42-") || names[1] != strings.TrimSuffix(names[0], ".eml")+"-2.eml" {
		t.Errorf("file names %q, want a name derived from the key, then the same with -2", names)
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
