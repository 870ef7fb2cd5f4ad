package campaign

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// RejectsPath returns where the rejects of a recipient list are written: next
// to it, with ".rejects" before the extension ("lists/in.csv" →
// "lists/in.rejects.csv"; "lists/in" → "lists/in.rejects.csv").
func RejectsPath(input string) string {
	ext := filepath.Ext(input)
	base := strings.TrimSuffix(input, ext)
	if ext == "" || strings.HasSuffix(base, string(filepath.Separator)) || base == "" {
		return input + ".rejects.csv"
	}
	return base + ".rejects" + ext
}

// RejectsWriter writes rejected rows of a recipient list to a CSV file with
// the columns line, reason, then the row's original fields, each made
// spreadsheet-safe (SpreadsheetSafe). The file is started only when the
// first reject is written, with mode 0600 because rows hold email
// addresses. It is written under a temporary name and moved into place by
// Close, replacing an existing file: a symlink planted at the path is
// replaced, its target never truncated. It is not safe for concurrent use.
type RejectsWriter struct {
	path   string
	header []string
	f      *pendingFile
	w      *CSVWriter
	n      int
	err    error
	closed bool
}

// NewRejectsWriter returns a writer for path. Nothing is created until Write.
func NewRejectsWriter(path string) *RejectsWriter {
	return &RejectsWriter{path: path}
}

// SetHeader sets the original header row of the list (RecipientReader.RawHeader),
// written after "line" and "reason" in the file's first row. Call it before
// the first Write; without it the first row is just "line,reason".
func (w *RejectsWriter) SetHeader(header []string) {
	w.header = append([]string(nil), header...)
}

// Path returns the file path given to NewRejectsWriter.
func (w *RejectsWriter) Path() string { return w.path }

// Count returns the number of rejects written.
func (w *RejectsWriter) Count() int { return w.n }

// Write appends one reject, creating the file on the first call. After an
// error every later call returns the same error.
func (w *RejectsWriter) Write(r Reject) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("rejects file %s: write after Close", w.path)
	}
	if w.f == nil {
		f, err := createPending(w.path)
		if err != nil {
			w.err = fmt.Errorf("creating rejects file: %w", err)
			return w.err
		}
		w.f = f
		w.w = NewCSVWriter(f)
		if err := w.w.Write(append([]string{"line", "reason"}, w.header...)); err != nil {
			w.err = fmt.Errorf("writing %s: %w", w.path, err)
			return w.err
		}
	}
	row := make([]string, 0, 2+len(r.Record))
	row = append(row, strconv.Itoa(r.Line), r.Reason)
	row = append(row, r.Record...)
	if err := w.w.Write(row); err != nil {
		w.err = fmt.Errorf("writing %s: %w", w.path, err)
		return w.err
	}
	w.n++
	return nil
}

// Close flushes the file, if one was started, and moves it into place; after
// a write error nothing is moved and the temporary file is removed. Later
// calls to Close return nil; later calls to Write fail.
func (w *RejectsWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	w.w.Flush()
	err := w.err
	if err == nil {
		err = w.w.Error()
	}
	if err != nil {
		f.abort()
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	if err := f.commit(true); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	return nil
}
