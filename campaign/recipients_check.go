package campaign

import (
	"errors"
	"io"
	"io/fs"
)

// MaxListedRejects is how many rejects RecipientFileStats keeps to show.
const MaxListedRejects = 20

// RecipientFileStats is what a prescan of a recipient list found.
type RecipientFileStats struct {
	// Header is the header row as written (RecipientReader.RawHeader) and
	// Fields the template field names (RecipientReader.Fields); both nil
	// when the header could not be read.
	Header, Fields []string
	// Rows counts the data rows read: Valid + Rejected.
	Rows, Valid, Rejected int
	// Rejects holds the first MaxListedRejects rejects, in file order.
	Rejects []Reject
	// Bytes is how much of the input was read. After a successful check
	// it is the whole file, and a second pass that reads exactly these
	// bytes sees the rows that were checked, even if the file grew since.
	Bytes int64
}

// CheckRecipients reads the recipient list r to its end without keeping its
// rows, so that a caller can refuse a file that cannot be read before any
// of its rows is used: a file refused at line 1,502 must not have planned
// its first 1,000 rows. The error, if any, is the first fatal one (a
// *RecipientFileError with its line); the stats then count the rows before
// it. Rejected rows are not errors. name is used in errors.
func CheckRecipients(r io.Reader, name string) (RecipientFileStats, error) {
	var st RecipientFileStats
	rr, err := NewRecipientReader(r, name)
	if err != nil {
		return st, err
	}
	st.Header, st.Fields = rr.RawHeader(), rr.Fields()
	for {
		_, rej, err := rr.Next()
		if err != nil {
			st.Bytes = rr.bound.n
			if err == io.EOF {
				return st, nil
			}
			return st, err
		}
		st.Rows++
		if rej == nil {
			st.Valid++
			continue
		}
		st.Rejected++
		if len(st.Rejects) < MaxListedRejects {
			st.Rejects = append(st.Rejects, *rej)
		}
	}
}

// CheckRecipientFile opens the recipient list at path (a regular file only,
// see OpenRegularFile) and checks it with CheckRecipients. Every error is a
// *RecipientFileError naming path; a missing file still matches
// fs.ErrNotExist.
func CheckRecipientFile(path string) (RecipientFileStats, error) {
	f, err := OpenRegularFile(path)
	if err != nil {
		return RecipientFileStats{}, &RecipientFileError{File: path, Err: unwrapPath(err)}
	}
	defer f.Close()
	return CheckRecipients(f, path)
}

// unwrapPath drops the *fs.PathError around err: the file is named once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
