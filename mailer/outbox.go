package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Outbox is a Sender that writes each message as an RFC 5322 .eml file into
// a folder instead of sending it: the default for the demo and for dry runs.
// Each file is written to a temporary name, synced and renamed into place
// (mode 0600), so a file is either complete or absent. The name derives from
// the Message-ID (or Key). A file is never overwritten: like a mail server,
// the outbox keeps every message it was given, so a message sent again with
// the same Message-ID gets a name of its own (NAME-2.eml, NAME-3.eml, ...)
// and the first stays as it was.
type Outbox struct {
	dir  string
	opts *senderOptions
}

// NewOutbox returns an Outbox writing into dir, created (mode 0700) if missing.
func NewOutbox(dir string, opts ...SenderOption) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("mailer: outbox folder is empty")
	}
	o, err := newSenderOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailer: outbox folder: %w", err)
	}
	return &Outbox{dir: dir, opts: o}, nil
}

// Dir returns the outbox folder.
func (o *Outbox) Dir() string { return o.dir }

// Send writes msgs and reports exactly one Result per message, in order,
// from the calling goroutine. A message that cannot be built is a
// PermFailure; a failed write is a TempFailure and stops the run: the
// remaining messages are reported as TempFailure and the error is returned.
// A cancelled ctx does the same with ctx.Err(). The outbox never reports
// OutcomeUnknown: the rename that delivers a file is atomic, so a file is
// complete or absent. Message.Prepare is called once per message (there is
// one attempt) and Message.Released never.
func (o *Outbox) Send(ctx context.Context, msgs []Message, report func(Result)) error {
	var stop error
	for _, msg := range msgs {
		if stop == nil {
			stop = ctx.Err()
		}
		if stop != nil {
			report(Result{Key: msg.Key, Status: TempFailure, Reply: "not written: run stopped", Err: stop})
			continue
		}
		raw, id, err := o.opts.render(msg)
		if err != nil {
			report(Result{Key: msg.Key, Status: PermFailure, Reply: "message cannot be built", Err: err})
			continue
		}
		name := emlFileName(id)
		if msg.MessageID == "" && msg.Key != "" {
			name = emlFileName(msg.Key)
		}
		path := filepath.Join(o.dir, name)
		if msg.Prepare != nil {
			if err := msg.Prepare(); err != nil {
				report(Result{Key: msg.Key, Status: TempFailure, Reply: "not written: " + err.Error(), Err: err})
				continue
			}
		}
		if path, err = writeFileAtomic(path, raw); err != nil {
			stop = fmt.Errorf("mailer: outbox: %w", err)
			report(Result{Key: msg.Key, Status: TempFailure, Reply: "not written", Err: stop})
			continue
		}
		o.opts.logger.DebugContext(ctx, "message written to outbox", "key", msg.Key, "file", path)
		report(Result{Key: msg.Key, Status: Delivered, Reply: "written to " + path})
	}
	return stop
}

// Close releases nothing; it exists so Outbox and SMTPSender are interchangeable.
func (o *Outbox) Close() error { return nil }

// emlFileName maps an identifier to a safe, deterministic file name: its
// readable characters (at most 80) and a short hash of the whole, so two
// identifiers never share a file.
func emlFileName(id string) string {
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		case r == '@':
			return '_'
		}
		return -1
	}, id)
	safe = strings.Trim(safe, ".")
	if len(safe) > 80 {
		safe = safe[:80]
	}
	sum := sha256.Sum256([]byte(id))
	return safe + "-" + hex.EncodeToString(sum[:4]) + ".eml"
}

// maxSameName bounds the names tried for one message sent many times.
const maxSameName = 1000

// writeFileAtomic writes b through a synced temporary file in the same
// folder, with mode 0600, and links it into place at path or, when a file
// is already there, at the first free name of path-2, path-3, ... It returns
// the name used. A link, unlike a rename, never replaces a file.
func writeFileAtomic(path string, b []byte) (used string, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return "", err
	}
	if _, err = f.Write(b); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	base := strings.TrimSuffix(path, ".eml")
	for n := 1; ; n++ {
		used = path
		if n > 1 {
			used = fmt.Sprintf("%s-%d.eml", base, n)
		}
		err = os.Link(tmp, used)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		if n == maxSameName {
			return "", fmt.Errorf("%s and %d more files of the same message are already there", path, maxSameName-1)
		}
	}
	_ = os.Remove(tmp) // the message is in place; a leftover temporary file is only clutter
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // make the link durable; not supported everywhere
		_ = d.Close()
	}
	return used, nil
}
