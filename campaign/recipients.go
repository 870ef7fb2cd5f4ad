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
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Recipient is one valid, deduplicated row of a recipient list.
type Recipient struct {
	// Email is trimmed, lowercased and validated by NormalizeEmail.
	Email string
	// FirstName and LastName are cleaned by CleanName (no control
	// characters, at most MaxNameRunes); either may be empty.
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

// sniffLimit is how much of the header line is looked at to pick the
// delimiter; it is also the size of the read buffer.
const sniffLimit = 64 << 10

// MaxRecordBytes bounds one record (a row with its line end, or the header)
// of a recipient list. No real row comes near it; a file that has one is
// not a recipient list (or lacks a closing quote), and without a bound a
// single endless line, say from /dev/zero or a binary file, would be read
// into memory whole.
const MaxRecordBytes = 64 << 10

// RecipientReader reads a recipient list in CSV, one row at a time, so that a
// list of millions of rows never sits in memory.
//
// The file needs a header row with an email column. Headers are matched
// ignoring case, accents, spaces and punctuation, in the common spellings of
// English, German, French, Spanish, Indonesian and Dutch and of WooCommerce's
// exports ("E-Mail", "Vorname", "Prénom", "Nama depan", "billing_email"; see
// columnAliases). First and last name are optional; a full-name column
// ("Name", WooCommerce Analytics' customer report) is split at its first
// space where they are missing. Every other named column becomes a template
// field named in lower_snake case; Columns says what each column became.
// The reader accepts a UTF-8 byte order mark, CRLF line ends, ',' ';' or
// tab as the delimiter (chosen from the header line, or from an Excel
// "sep=;" first line), quoted fields and blank lines.
//
// Every data row yields exactly one Recipient or one Reject; blank rows (no
// field with any content) are skipped. Line numbers are physical lines of the
// file, so a quoted field spanning lines does not shift them. A row with
// fewer or more fields than the header (spreadsheet exports write them) is
// read when it has the email column: missing fields are empty, extra fields
// are ignored.
//
// Fatal errors (a bad header, a quote that is not closed, a record over
// MaxRecordBytes, a read error) are *RecipientFileError values.
type RecipientReader struct {
	name  string
	cr    *csv.Reader
	bound *boundReader
	pre   int64 // bytes before the CSV reader's first (BOM, "sep=" line)

	header   []string // as written in the file, trimmed
	columns  []string // normalized names, "" for unnamed columns
	emailCol int
	firstCol int // -1 when absent
	lastCol  int // -1 when absent
	nameCol  int // a full name split in two; -1 when absent
	uses     []ColumnUse
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
	end    int // last physical line of the last record read
}

// NewRecipientReader reads the header of the CSV list r and returns a reader
// for its rows. name is the file name used in errors. A missing or unusable
// header is a *RecipientFileError naming the file and line:
// "recipients.csv line 1: no email column".
func NewRecipientReader(r io.Reader, name string) (*RecipientReader, error) {
	// The peeks below read at most a BOM and one buffer.
	bound := &boundReader{r: r, limit: 3 + sniffLimit}
	br := bufio.NewReaderSize(bound, sniffLimit)
	var pre int64
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
		pre = 3
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
		pre += int64(skip)
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
		bound:    bound,
		pre:      pre,
		emailCol: -1, firstCol: -1, lastCol: -1, nameCol: -1,
		seen:   make(map[uint64]uint32),
		seed:   maphash.MakeSeed(),
		offset: offset,
		end:    offset,
	}
	rec, err := rr.read()
	if err == io.EOF {
		return nil, rr.fatal(0, "", errors.New("empty file: the first line must be a header with an email column"))
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, rr.fatal(pe.StartLine+offset, "", fmt.Errorf("header is not valid CSV: %v", pe.Err))
		}
		var fe *RecipientFileError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, rr.fatal(0, "", err)
	}
	line := rr.recordLine()
	rr.line = line
	if field, err := rr.readHeader(rec); err != nil {
		return nil, rr.fatal(line, field, err)
	}
	return rr, nil
}

// RecipientFileError is a fatal error in a recipient list: the file cannot
// be read as one (bad header, a quote not closed, a record over
// MaxRecordBytes, not a regular file, a read error). Nothing of such a file
// should be used.
type RecipientFileError struct {
	// File is the name given to the reader.
	File string
	// Line is the physical line the problem starts on; 0 when it has none.
	Line int
	// Field is the column concerned, when there is one ("email").
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns "FILE line N: what" (or "FILE: what" without a line).
func (e *RecipientFileError) Error() string {
	if e.Line > 0 {
		return e.File + " line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *RecipientFileError) Unwrap() error { return e.Err }

func (rr *RecipientReader) fatal(line int, field string, err error) error {
	return &RecipientFileError{File: rr.name, Line: line, Field: field, Err: err}
}

// errRecordTooLarge is what boundReader returns once a record outgrew
// MaxRecordBytes; the reader turns it into a RecipientFileError.
var errRecordTooLarge = fmt.Errorf("a row is over %d KiB, the limit of one row (is this a CSV list? is a quote not closed?)", MaxRecordBytes>>10)

// boundReader bounds how far the CSV reader may read ahead of the start of
// the record it is reading, so that one endless record is refused instead
// of read into memory. It returns its first error on every later Read, so
// that an error met while peeking at the header is not lost.
type boundReader struct {
	r     io.Reader
	n     int64 // bytes delivered
	limit int64 // no byte at or past this offset is delivered
	err   error
}

func (b *boundReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	room := b.limit - b.n
	if room <= 0 {
		b.err = errRecordTooLarge
		return 0, b.err
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.err = err
	return n, err
}

// read reads the next record, at most MaxRecordBytes long. The buffer may
// hold up to sniffLimit bytes past what the CSV reader consumed, so the
// source may run that far ahead of the record's end.
func (rr *RecipientReader) read() ([]string, error) {
	start := rr.cr.InputOffset()
	rr.bound.limit = rr.pre + start + MaxRecordBytes + sniffLimit
	rec, err := rr.cr.Read()
	if errors.Is(err, errRecordTooLarge) {
		// The record starts on the line after the last one read (blank
		// lines between them aside).
		return nil, rr.fatal(rr.end+1, "", errRecordTooLarge)
	}
	if err == nil && rr.cr.InputOffset()-start > MaxRecordBytes {
		return nil, rr.fatal(rr.recordLine(), "", errRecordTooLarge)
	}
	if err == nil {
		// A quoted field may span lines; csv gives each line break as '\n'.
		last := rr.recordLine()
		for _, f := range rec {
			last += strings.Count(f, "\n")
		}
		rr.end = last
	}
	return rec, err
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

// readHeader checks the header row and decides what each column is used
// for (see columnAliases); on error it returns the column concerned when
// there is one.
func (rr *RecipientReader) readHeader(rec []string) (string, error) {
	rr.header = make([]string, len(rec))
	rr.columns = make([]string, len(rec))
	firstCol := map[string]int{}
	type pick struct{ col, rank int }
	picks := map[ColumnRole]pick{}
	for i, h := range rec {
		if !utf8.ValidString(h) {
			return "", fmt.Errorf("header of column %d is not valid UTF-8 (save the file as UTF-8)", i+1)
		}
		rr.header[i] = strings.TrimSpace(h)
		name := normalizeHeader(h)
		rr.columns[i] = name
		if name == "" {
			// An unnamed column (often a trailing delimiter) cannot be a
			// template field; its values are kept only in rejects.
			continue
		}
		if j, dup := firstCol[name]; dup {
			return rr.header[i], fmt.Errorf("columns %d (%q) and %d (%q) both mean %q; rename one", j+1, rr.header[j], i+1, rr.header[i], name)
		}
		firstCol[name] = i
		a, ok := columnAliases[foldHeader(h)]
		if !ok {
			continue
		}
		switch p, seen := picks[a.role]; {
		case !seen || a.rank < p.rank:
			picks[a.role] = pick{i, a.rank}
		case a.rank == p.rank:
			j := p.col
			return rr.header[i], fmt.Errorf("columns %d (%q) and %d (%q) both mean %q; rename one", j+1, rr.header[j], i+1, rr.header[i], roleName(a.role))
		}
	}
	col := func(r ColumnRole) int {
		if p, ok := picks[r]; ok {
			return p.col
		}
		return -1
	}
	rr.emailCol, rr.firstCol, rr.lastCol = col(ColumnEmail), col(ColumnFirstName), col(ColumnLastName)
	if rr.firstCol < 0 || rr.lastCol < 0 {
		// With both names in columns of their own a full name has nothing
		// to give: it stays a template field.
		rr.nameCol = col(ColumnFullName)
	}
	rr.uses = make([]ColumnUse, len(rec))
	for i, name := range rr.columns {
		u := ColumnUse{Header: rr.header[i]}
		switch i {
		case rr.emailCol:
			u.Role = ColumnEmail
		case rr.firstCol:
			u.Role = ColumnFirstName
		case rr.lastCol:
			u.Role = ColumnLastName
		case rr.nameCol:
			u.Role = ColumnFullName
			switch {
			case rr.firstCol >= 0:
				u.Derives = "last name"
			case rr.lastCol >= 0:
				u.Derives = "first name"
			default:
				u.Derives = "first and last name"
			}
		default:
			if name == "" {
				u.Role = ColumnIgnored
				break
			}
			u.Role, u.Field = ColumnField, name
			rr.extra = append(rr.extra, i)
			rr.fields = append(rr.fields, name)
		}
		rr.uses[i] = u
	}
	if rr.emailCol < 0 {
		return "email", fmt.Errorf("no email column (header has %s)", quoteHeaderList(rr.header))
	}
	return "", nil
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
// the email, first name, last name and full name columns, normalized to
// lower_snake, in column order.
func (rr *RecipientReader) Fields() []string { return append([]string(nil), rr.fields...) }

// Header returns the template field names; it is the same as Fields.
func (rr *RecipientReader) Header() []string { return rr.Fields() }

// Columns returns what each column of the header became, in column order.
func (rr *RecipientReader) Columns() []ColumnUse { return append([]ColumnUse(nil), rr.uses...) }

// RawHeader returns the header row as written in the file (trimmed), for a
// rejects file whose rows carry the original fields.
func (rr *RecipientReader) RawHeader() []string { return append([]string(nil), rr.header...) }

// Rows returns the number of data rows returned so far as a Recipient or a Reject.
func (rr *RecipientReader) Rows() int { return rr.rows }

// Next returns the next data row: either a Recipient (and a nil Reject) or a
// Reject, never both. At the end of the list it returns io.EOF. Any other
// error is fatal, a *RecipientFileError naming the file and line; rows
// returned before stay valid.
func (rr *RecipientReader) Next() (Recipient, *Reject, error) {
	for {
		rec, err := rr.read()
		if err == io.EOF {
			return Recipient{}, nil, io.EOF
		}
		if err != nil {
			var fe *RecipientFileError
			if errors.As(err, &fe) {
				return Recipient{}, nil, err
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Recipient{}, nil, rr.fatal(0, "", fmt.Errorf("reading after line %d: %w", rr.line, err))
			}
			start, end := pe.StartLine+rr.offset, pe.Line+rr.offset
			if end != start {
				// A quote opened on StartLine swallowed the following lines:
				// the rows in them are lost to the parser, so stop rather
				// than skip them unseen.
				return Recipient{}, nil, rr.fatal(start, "", fmt.Errorf("quoted field opened here is not closed properly (parser gave up at line %d, column %d): %v; fix the quoting",
					end, pe.Column, pe.Err))
			}
			rr.rows++
			rr.line = start
			rr.end = start
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
	if len(rec) <= rr.emailCol {
		return Recipient{}, fmt.Sprintf("has %d fields and ends before the email column (%q, field %d)", len(rec), rr.header[rr.emailCol], rr.emailCol+1)
	}
	// Fields past the header's are ignored, so they are not checked either.
	rec = rec[:min(len(rec), len(rr.columns))]
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return Recipient{}, fmt.Sprintf("column %q is not valid UTF-8 (save the file as UTF-8)", rr.header[i])
		}
	}
	field := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return rec[i]
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
	rcp := Recipient{Email: email, Line: line, FirstName: CleanName(field(rr.firstCol)), LastName: CleanName(field(rr.lastCol))}
	if rr.nameCol >= 0 && (rcp.FirstName == "" || rcp.LastName == "") {
		rcp.FirstName, rcp.LastName = splitFullName(CleanName(field(rr.nameCol)), rcp.FirstName, rcp.LastName)
	}
	if len(rr.extra) > 0 {
		rcp.Fields = make(map[string]string, len(rr.extra))
		for k, i := range rr.extra {
			rcp.Fields[rr.fields[k]] = strings.TrimSpace(field(i))
		}
	}
	return rcp, ""
}

// Limits of an address (RFC 5321 path and local part, RFC 1035 label).
const (
	maxEmailLen = 254
	maxLocalLen = 64
	maxLabelLen = 63
)

// NormalizeEmail trims and lowercases an address and checks that WooCommerce
// will store it unchanged as an email restriction. WordPress's sanitize_email
// silently rewrites or drops what it does not like, so this refuses display
// names ("Bob <bob@x.com>"), non-ASCII characters, domains without a dot or
// with empty labels, characters outside WordPress's set, and '*', which
// WooCommerce would read as a wildcard. It also refuses what no mail server
// delivers to: an IP address or IP literal instead of a domain, a numeric
// top-level domain or one under two letters, a local part over 64
// characters, a domain label over 63, an address over 254.
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
	case len(local) > maxLocalLen:
		return "", fmt.Errorf("the part before @ has %d characters, at most %d", len(local), maxLocalLen)
	case strings.HasPrefix(domain, "["):
		return "", errors.New("an IP literal ([...]) instead of a domain name")
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
		if len(label) > maxLabelLen {
			return "", fmt.Errorf("domain part %q has %d characters, at most %d", label, len(label), maxLabelLen)
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
	// Only digits and dots can be an IPv4 address here (':' and '[' are
	// refused above); asking netip only then keeps the common path free of
	// its error allocation.
	if strings.Trim(domain, "0123456789.") == "" {
		if _, err := netip.ParseAddr(domain); err == nil {
			return "", errors.New("an IP address instead of a domain name")
		}
	}
	switch tld := domain[strings.LastIndexByte(domain, '.')+1:]; {
	case strings.Trim(tld, "0123456789") == "":
		return "", fmt.Errorf("top-level domain %q is numeric", tld)
	case len(tld) < 2:
		return "", fmt.Errorf("top-level domain %q is under two letters", tld)
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
