package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Outbox is a Sender that writes each message as an RFC 5322 .eml file into
// a folder instead of sending it: the default for the demo and for dry runs.
// Each file is written to a temporary name, synced and renamed into place
// (mode 0600), so a file is either complete or absent. The name derives from
// the Message-ID (or Key), so sending the same message again overwrites its
// file instead of adding one.
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
		if err := writeFileAtomic(path, raw); err != nil {
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

// writeFileAtomic writes b to path through a synced temporary file in the
// same folder, renamed into place, with mode 0600.
func writeFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // make the rename durable; not supported everywhere
		_ = d.Close()
	}
	return nil
}
