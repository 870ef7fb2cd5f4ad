package campaign

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Recipient is one valid, deduplicated row of a recipient list.
type Recipient struct {
	// Email is trimmed, lowercased and validated by NormalizeEmail.
	Email string
	// FirstName and LastName are trimmed; either may be empty.
	FirstName, LastName string
	// Fields holds the other columns by normalized header name (lower_snake),
	// values trimmed; nil when the list has no other columns.
	Fields map[string]string
	// Line is the physical line of the file the row starts on (1 is the header).
	Line int
}

// Reject is a row of a recipient list that was not taken, with the reason.
type Reject struct {
	// Line is the physical line of the file the row starts on.
	Line int
	// Reason says what is wrong, short and specific: `email "bob@": missing domain`.
	Reason string
	// Record is the row's fields as read; nil when the line was not valid CSV.
	Record []string
}

// String returns "line N: reason".
func (r Reject) String() string { return "line " + strconv.Itoa(r.Line) + ": " + r.Reason }

// Header names with a meaning of their own; every other column becomes a
// template field. The aliases are what spreadsheet exports commonly write.
var (
	emailHeaders = []string{"email", "e_mail", "email_address", "e_mail_address"}
	firstHeaders = []string{"first_name", "firstname"}
	lastHeaders  = []string{"last_name", "lastname"}
)

// sniffLimit is how much of the header line is looked at to pick the delimiter.
const sniffLimit = 64 << 10

// RecipientReader reads a recipient list in CSV, one row at a time, so that a
// list of millions of rows never sits in memory.
//
// The file needs a header row with an email column (names are matched case-
// insensitively after trimming; "E-Mail" works). first_name and last_name are
// optional; every other named column becomes a template field named in
// lower_snake case. The reader accepts a UTF-8 byte order mark, CRLF line ends,
// ',' ';' or tab as the delimiter (chosen from the header line, or from an
// Excel "sep=;" first line), quoted fields and blank lines.
//
// Every data row yields exactly one Recipient or one Reject; blank rows (no
// field with any content) are skipped. Line numbers are physical lines of the
// file, so a quoted field spanning lines does not shift them.
type RecipientReader struct {
	name string
	cr   *csv.Reader

	header   []string // as written in the file, trimmed
	columns  []string // normalized names, "" for unnamed columns
	emailCol int
	firstCol int // -1 when absent
	lastCol  int // -1 when absent
	extra    []int
	fields   []string // normalized names of extra, in column order

	// seen maps a 64-bit hash of each accepted email to the line it was first
	// seen on. Keeping hashes instead of strings keeps memory flat: it is the
	// only memory that grows with the list, 16 bytes per slot in Go's swiss
	// table (8-byte key, 4-byte value, padding) plus a control byte, so 20 to
	// 40 bytes per accepted row depending on where the map is between two
	// doublings (BenchmarkRecipientReader1M measures it). A false "duplicate" needs a 64-bit
	// collision: about 3e-8 for a million rows, and such a row is still
	// listed as a reject, never dropped. The seed is random per reader, so an
	// unlucky collision does not repeat on the next run.
	seen map[uint64]uint32
	seed maphash.Seed

	offset int // lines before the CSV proper (an Excel "sep=" line)
	rows   int // data rows returned so far (recipients + rejects)
	line   int // line of the last record read
}

// NewRecipientReader reads the header of the CSV list r and returns a reader
// for its rows. name is the file name used in errors. A missing or unusable
// header is an error naming the file and line: "recipients.csv line 1: no email column".
func NewRecipientReader(r io.Reader, name string) (*RecipientReader, error) {
	br := bufio.NewReaderSize(&stickyReader{r: r}, sniffLimit)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	// A read error here shows up again when the CSV reader gets to it:
	// stickyReader repeats it.
	peek, _ := br.Peek(sniffLimit)
	offset := 0 // lines consumed before the CSV reader starts
	var comma rune
	// Excel writes "sep=;" as the first line when asked to say its delimiter.
	if line := bytes.TrimRight(firstLine(peek), "\r"); len(line) == 5 && bytes.EqualFold(line[:4], []byte("sep=")) && bytes.IndexByte([]byte(",;\t|"), line[4]) >= 0 {
		comma = rune(line[4])
		skip := len(firstLine(peek))
		if skip < len(peek) {
			skip++ // the '\n'
		}
		_, _ = br.Discard(skip)
		offset = 1
	} else {
		comma = sniffDelimiter(headerLine(peek))
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true

	rr := &RecipientReader{
		name:     name,
		cr:       cr,
		emailCol: -1, firstCol: -1, lastCol: -1,
		seen:   make(map[uint64]uint32),
		seed:   maphash.MakeSeed(),
		offset: offset,
	}
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: the first line must be a header with an email column", name)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s line %d: header is not valid CSV: %v", name, pe.StartLine+offset, pe.Err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	line := rr.recordLine()
	rr.line = line
	if err := rr.readHeader(rec); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", name, line, err)
	}
	return rr, nil
}

// stickyReader returns the first error of r on every later Read, so that an
// error met while peeking at the header is not lost.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// recordLine returns the physical line the last record read starts on.
func (rr *RecipientReader) recordLine() int {
	line, _ := rr.cr.FieldPos(0)
	return line + rr.offset
}

// firstLine returns b up to its first '\n' (excluded).
func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// headerLine returns the first line of b with anything but white space:
// the CSV reader skips blank lines before the header too.
func headerLine(b []byte) []byte {
	for len(b) > 0 {
		line := firstLine(b)
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
		b = b[min(len(line)+1, len(b)):]
	}
	return nil
}

// sniffDelimiter picks the delimiter of a header line: ';' or tab when it
// occurs more often than ',' outside quotes, else ','.
func sniffDelimiter(header []byte) rune {
	var comma, semi, tab int
	quoted := false
	for _, c := range header {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			comma++
		case c == ';':
			semi++
		case c == '\t':
			tab++
		}
	}
	switch {
	case semi > comma && semi >= tab:
		return ';'
	case tab > comma && tab > semi:
		return '\t'
	}
	return ','
}

// normalizeHeader turns a header name into lower_snake case: lowercased, runs
// of anything but ASCII letters and digits become one '_', trimmed of '_'.
func normalizeHeader(h string) string {
	var b strings.Builder
	pendingSep := false
	for _, c := range strings.ToLower(strings.TrimSpace(h)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(c)
			continue
		}
		if c < utf8.RuneSelf || c == utf8.RuneError {
			pendingSep = true
			continue
		}
		// Non-ASCII letters stay: "straße" is a fine field name.
		if pendingSep && b.Len() > 0 {
			b.WriteByte('_')
		}
		pendingSep = false
		b.WriteRune(c)
	}
	return b.String()
}

func (rr *RecipientReader) readHeader(rec []string) error {
	rr.header = make([]string, len(rec))
	rr.columns = make([]string, len(rec))
	firstCol := map[string]int{}
	for i, h := range rec {
		if !utf8.ValidString(h) {
			return fmt.Errorf("header of column %d is not valid UTF-8 (save the file as UTF-8)", i+1)
		}
		rr.header[i] = strings.TrimSpace(h)
		name := normalizeHeader(h)
		switch {
		case isOneOf(emailHeaders, name):
			name = "email"
		case isOneOf(firstHeaders, name):
			name = "first_name"
		case isOneOf(lastHeaders, name):
			name = "last_name"
		}
		rr.columns[i] = name
		if name == "" {
			// An unnamed column (often a trailing delimiter) cannot be a
			// template field; its values are kept only in rejects.
			continue
		}
		if j, dup := firstCol[name]; dup {
			return fmt.Errorf("columns %d (%q) and %d (%q) both mean %q; rename one", j+1, rr.header[j], i+1, rr.header[i], name)
		}
		firstCol[name] = i
		switch name {
		case "email":
			rr.emailCol = i
		case "first_name":
			rr.firstCol = i
		case "last_name":
			rr.lastCol = i
		default:
			rr.extra = append(rr.extra, i)
			rr.fields = append(rr.fields, name)
		}
	}
	if rr.emailCol < 0 {
		return fmt.Errorf("no email column (header has %s)", quoteHeaderList(rr.header))
	}
	return nil
}

func isOneOf(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteHeaderList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Name returns the file name given to NewRecipientReader.
func (rr *RecipientReader) Name() string { return rr.name }

// Fields returns the names of the template fields, the columns other than
// email, first_name and last_name, normalized to lower_snake, in column order.
func (rr *RecipientReader) Fields() []string { return append([]string(nil), rr.fields...) }

// Header returns the template field names; it is the same as Fields.
func (rr *RecipientReader) Header() []string { return rr.Fields() }

// RawHeader returns the header row as written in the file (trimmed), for a
// rejects file whose rows carry the original fields.
func (rr *RecipientReader) RawHeader() []string { return append([]string(nil), rr.header...) }

// Rows returns the number of data rows returned so far as a Recipient or a Reject.
func (rr *RecipientReader) Rows() int { return rr.rows }

// Next returns the next data row: either a Recipient (and a nil Reject) or a
// Reject, never both. At the end of the list it returns io.EOF. Any other
// error is fatal and names the file and line; rows returned before stay valid.
func (rr *RecipientReader) Next() (Recipient, *Reject, error) {
	for {
		rec, err := rr.cr.Read()
		if err == io.EOF {
			return Recipient{}, nil, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Recipient{}, nil, fmt.Errorf("%s: reading after line %d: %w", rr.name, rr.line, err)
			}
			start, end := pe.StartLine+rr.offset, pe.Line+rr.offset
			if end != start {
				// A quote opened on StartLine swallowed the following lines:
				// the rows in them are lost to the parser, so stop rather
				// than skip them unseen.
				return Recipient{}, nil, fmt.Errorf("%s line %d: quoted field opened here is not closed properly (parser gave up at line %d, column %d): %v; fix the quoting",
					rr.name, start, end, pe.Column, pe.Err)
			}
			rr.rows++
			rr.line = start
			return Recipient{}, &Reject{Line: start, Reason: fmt.Sprintf("not valid CSV at column %d: %v", pe.Column, pe.Err)}, nil
		}
		line := rr.recordLine()
		rr.line = line
		if blankRecord(rec) {
			continue
		}
		rr.rows++
		rcp, reason := rr.parseRow(rec, line)
		if reason != "" {
			return Recipient{}, &Reject{Line: line, Reason: reason, Record: append([]string(nil), rec...)}, nil
		}
		return rcp, nil, nil
	}
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseRow validates one record; a non-empty reason means a reject.
func (rr *RecipientReader) parseRow(rec []string, line int) (Recipient, string) {
	if len(rec) != len(rr.columns) {
		return Recipient{}, fmt.Sprintf("has %d fields, the header has %d", len(rec), len(rr.columns))
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return Recipient{}, fmt.Sprintf("column %q is not valid UTF-8 (save the file as UTF-8)", rr.header[i])
		}
	}
	raw := rec[rr.emailCol]
	email, err := NormalizeEmail(raw)
	if err != nil {
		return Recipient{}, fmt.Sprintf("email %q: %v", strings.TrimSpace(raw), err)
	}
	h := maphash.String(rr.seed, email)
	if first, dup := rr.seen[h]; dup {
		return Recipient{}, fmt.Sprintf("email %q: duplicate of line %d", email, first)
	}
	rr.seen[h] = uint32(min(line, 1<<32-1))
	rcp := Recipient{Email: email, Line: line}
	if rr.firstCol >= 0 {
		rcp.FirstName = strings.TrimSpace(rec[rr.firstCol])
	}
	if rr.lastCol >= 0 {
		rcp.LastName = strings.TrimSpace(rec[rr.lastCol])
	}
	if len(rr.extra) > 0 {
		rcp.Fields = make(map[string]string, len(rr.extra))
		for k, i := range rr.extra {
			rcp.Fields[rr.fields[k]] = strings.TrimSpace(rec[i])
		}
	}
	return rcp, ""
}

// maxEmailLen is the longest address SMTP carries (RFC 5321 path limit).
const maxEmailLen = 254

// NormalizeEmail trims and lowercases an address and checks that WooCommerce
// will store it unchanged as an email restriction. WordPress's sanitize_email
// silently rewrites or drops what it does not like, so this refuses display
// names ("Bob <bob@x.com>"), non-ASCII characters, domains without a dot or
// with empty labels, characters outside WordPress's set, and '*', which
// WooCommerce would read as a wildcard.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", errors.New("non-ASCII characters, which WordPress's sanitize_email would strip")
		}
	}
	if len(s) > maxEmailLen {
		return "", fmt.Errorf("%d characters, at most %d", len(s), maxEmailLen)
	}
	if strings.ContainsAny(s, "<>") {
		return "", errors.New("display names are not allowed, give the bare address")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errors.New("missing @")
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return "", errors.New("missing the part before @")
	case domain == "":
		return "", errors.New("missing domain")
	case strings.Contains(local, "@"):
		return "", errors.New("more than one @")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", errors.New("the part before @ starts or ends with a dot or has two dots in a row")
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c == '*' {
			return "", errors.New("'*' would make WooCommerce treat it as a wildcard")
		}
		// WordPress's sanitize_email keeps only these in the local part.
		if !isASCIIAlnum(c) && !strings.ContainsRune("!#$%&'+/=?^_`{|}~.-", rune(c)) {
			return "", fmt.Errorf("%s before @, which WordPress's sanitize_email would strip", describeCodeByte(c))
		}
	}
	if !strings.Contains(domain, ".") {
		return "", errors.New("domain has no dot")
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return "", errors.New("domain starts or ends with a dot or has two dots in a row")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("domain part %q starts or ends with '-'", label)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isASCIIAlnum(c) && c != '-' {
				return "", fmt.Errorf("domain contains %s", describeCodeByte(c))
			}
		}
	}
	if len(s) < 6 {
		// sanitize_email turns anything shorter into an empty string.
		return "", errors.New("too short: WordPress refuses addresses under 6 characters")
	}
	// The checks above are WordPress's; RFC 5322 syntax is net/mail's.
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("not a valid address (%s)", strings.TrimPrefix(err.Error(), "mail: "))
	}
	if addr.Address != s || addr.Name != "" {
		return "", errors.New("not a bare address")
	}
	return s, nil
}
