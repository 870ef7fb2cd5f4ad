package campaign

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotRegularFile is returned (wrapped) by OpenRegularFile for a path that
// is a folder, a named pipe, a device or a socket.
var ErrNotRegularFile = errors.New("not a regular file")

// OpenRegularFile opens path for reading and refuses anything but a regular
// file, after following symbolic links. Input files (recipient lists, drop
// folder files, suppression lists) go through it: a symlink to a FIFO would
// hang a job while it holds the campaign, one to /dev/zero would read
// forever.
//
// The check is made on the opened descriptor (fstat), not on the path, so
// that a file swapped between a check and the open cannot slip through; the
// open itself does not block on a FIFO without a writer.
func OpenRegularFile(path string) (*os.File, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (it is %s): give a file", ErrNotRegularFile, describeFileMode(fi.Mode()))}
	}
	return f, nil
}

// describeFileMode names the kind of a non-regular file for an error.
func describeFileMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// pendingFile is a file written under a temporary name in the folder of its
// final path and moved there only when complete: a crash leaves no partial
// file, and a symlink planted at the final path is replaced, never followed
// (so its target is never truncated).
type pendingFile struct {
	*os.File
	path string
}

// createPending creates the temporary file for path, with mode 0600: what
// this tool writes holds addresses and codes.
func createPending(path string) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	// CreateTemp uses 0600 already; say so for umasks and platforms that differ.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &pendingFile{File: f, path: path}, nil
}

// commit syncs and closes the temporary file and moves it to its path. With
// replace false an existing path is left alone and the error wraps
// fs.ErrExist. The temporary file is gone afterwards, whatever happened.
func (p *pendingFile) commit(replace bool) error {
	tmp := p.Name()
	defer os.Remove(tmp)
	err := p.Sync()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp, p.path)
	}
	// Link fails if path exists, even if it appeared a moment ago.
	if err := os.Link(tmp, p.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: p.path, Err: fs.ErrExist}
		}
		return err
	}
	return nil
}

// abort closes and removes the temporary file.
func (p *pendingFile) abort() {
	p.Close()
	os.Remove(p.Name())
}

// WriteFileAtomic writes path (mode 0600) through a temporary file in the
// same folder that is moved into place once write succeeded, so that a
// failed write leaves no partial file and a symlink at path is replaced
// rather than followed. Without replace an existing path is an error
// wrapping fs.ErrExist, also when it appears while writing. It returns what
// write returned.
func WriteFileAtomic(path string, replace bool, write func(io.Writer) (int, error)) (int, error) {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return 0, &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
	}
	p, err := createPending(path)
	if err != nil {
		return 0, err
	}
	n, err := write(p)
	if err != nil {
		p.abort()
		return 0, err
	}
	if err := p.commit(replace); err != nil {
		return 0, err
	}
	return n, nil
}
