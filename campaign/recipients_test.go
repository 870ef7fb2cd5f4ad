package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// readAll reads every row of a list, failing the test on a fatal error.
func readAll(t testing.TB, rr *RecipientReader) ([]Recipient, []Reject) {
	t.Helper()
	var recs []Recipient
	var rejects []Reject
	for {
		rec, rej, err := rr.Next()
		if err == io.EOF {
			return recs, rejects
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if rej != nil {
			rejects = append(rejects, *rej)
		} else {
			recs = append(recs, rec)
		}
	}
}

func mustReader(t testing.TB, csv string) *RecipientReader {
	t.Helper()
	rr, err := NewRecipientReader(strings.NewReader(csv), "list.csv")
	if err != nil {
		t.Fatalf("NewRecipientReader: %v", err)
	}
	return rr
}

func TestRecipientReaderReadsExcelExport(t *testing.T) {
	// BOM, CRLF, ';' delimiter, "E-Mail"/"First Name" headers, quoted
	// fields holding ';', ',' and a line break, blank and empty rows.
	f, err := os.Open("testdata/recipients_excel.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := NewRecipientReader(f, "recipients_excel.csv")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rr.Fields(), []string{"order_total", "city"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields() = %q, want %q", got, want)
	}
	if got, want := rr.RawHeader(), []string{"E-Mail", "First Name", "Last Name", "Order Total", "City"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RawHeader() = %q, want %q", got, want)
	}
	recs, rejects := readAll(t, rr)
	wantRecs := []Recipient{
		{Email: "alice@example.com", FirstName: "Alice", LastName: "Archer", Fields: map[string]string{"order_total": "12,50", "city": "Berlin"}, Line: 2},
		{Email: "bob@example.org", FirstName: "Bob", LastName: "Baker; Jr.", Fields: map[string]string{"order_total": "3", "city": "München"}, Line: 3},
		// A line break in a name becomes a space (CleanName).
		{Email: "carol@example.net", FirstName: "Carol", LastName: "Line one line two", Fields: map[string]string{"order_total": "7", "city": "Köln"}, Line: 6},
		// A short row (Excel drops trailing empty cells) is read.
		{Email: "dave@example.com", FirstName: "Dave", Fields: map[string]string{"order_total": "", "city": ""}, Line: 9},
	}
	if !reflect.DeepEqual(recs, wantRecs) {
		t.Errorf("recipients:\n got %+v\nwant %+v", recs, wantRecs)
	}
	wantRejects := []Reject{
		{Line: 4, Reason: `email "not-an-email": missing @`, Record: []string{"not-an-email", "Carl", "", "", ""}},
		{Line: 8, Reason: `email "alice@example.com": duplicate of line 2`, Record: []string{"alice@EXAMPLE.com", "Alice", "Again", "1", "Berlin"}},
	}
	if !reflect.DeepEqual(rejects, wantRejects) {
		t.Errorf("rejects:\n got %+v\nwant %+v", rejects, wantRejects)
	}
	if rr.Rows() != 6 {
		t.Errorf("Rows() = %d, want 6 (4 recipients + 2 rejects)", rr.Rows())
	}
}

func TestRecipientReaderPicksDelimiterFromHeader(t *testing.T) {
	tests := []struct {
		name, csv string
		want      Recipient
	}{
		{"comma", "email,first_name,note\nann@x.com,Ann,\"a;b;c\"\n", Recipient{Email: "ann@x.com", FirstName: "Ann", Fields: map[string]string{"note": "a;b;c"}, Line: 2}},
		{"semicolon", "email;first_name;note\nann@x.com;Ann;\"a,b,c\"\n", Recipient{Email: "ann@x.com", FirstName: "Ann", Fields: map[string]string{"note": "a,b,c"}, Line: 2}},
		{"semicolon header with one comma", "email;\"name, first\";note\nann@x.com;Ann;x\n", Recipient{Email: "ann@x.com", Fields: map[string]string{"name_first": "Ann", "note": "x"}, Line: 2}},
		{"quoted commas do not count", "\"email\";\"name, first\"\nann@x.com;Ann\n", Recipient{Email: "ann@x.com", Fields: map[string]string{"name_first": "Ann"}, Line: 2}},
		{"blank lines before a semicolon header", "\r\n\r\nemail;first_name;a;b\r\nann@x.com;Ann;1,5;2\r\n", Recipient{Email: "ann@x.com", FirstName: "Ann", Fields: map[string]string{"a": "1,5", "b": "2"}, Line: 4}},
		{"Excel sep line wins over counting", "\xef\xbb\xbfsep=;\r\nemail;name,a,b\r\nann@x.com;Ann\r\n", Recipient{Email: "ann@x.com", Fields: map[string]string{"name_a_b": "Ann"}, Line: 3}},
		{"tab", "email\tfirst_name\nann@x.com\tAnn\n", Recipient{Email: "ann@x.com", FirstName: "Ann", Line: 2}},
		{"email only, no newline at end", "Email\nann@x.com", Recipient{Email: "ann@x.com", Line: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejects := readAll(t, mustReader(t, tt.csv))
			if len(rejects) != 0 || len(recs) != 1 || !reflect.DeepEqual(recs[0], tt.want) {
				t.Errorf("got %+v, rejects %+v; want one recipient %+v", recs, rejects, tt.want)
			}
		})
	}
}

func TestRecipientReaderHeaderErrorsAreFatal(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"empty file", "", "list.csv: empty file"},
		{"only a BOM", "\xef\xbb\xbf", "list.csv: empty file"},
		{"no email column", "phone,name\na@x.com,A\n", `list.csv line 1: no email column (header has "phone", "name")`},
		{"duplicate column", "email,City,first_name, city \n", `list.csv line 1: columns 2 ("City") and 4 ("city") both mean "city"`},
		{"two email aliases", "Email,E-mail\n", `columns 1 ("Email") and 2 ("E-mail") both mean "email"`},
		{"header after blank lines", "\n\nname\n", "list.csv line 3: no email column"},
		{"broken header", "email,\"na\"me\n", "list.csv line 1: header is not valid CSV"},
		{"header not UTF-8", "email,n\xe4me\n", "list.csv line 1: header of column 2 is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := NewRecipientReader(strings.NewReader(tt.csv), "list.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRecipientReader = %v, %v; want error containing %q", rr, err, tt.want)
			}
		})
	}
}

func TestRecipientReaderRejectsBadRowsAndGoesOn(t *testing.T) {
	list := strings.Join([]string{
		"email,first_name",           // 1
		"ok1@example.com,A",          // 2
		"Bob <bob@example.com>,B",    // 3
		"bob@,B",                     // 4
		"zoë@example.com,Z",          // 5
		"b@y,B",                      // 6
		"ok2@example.com,\"x\"y\",C", // 7: extraneous quote: not valid CSV
		"ok3@example.com,x\"y",       // 8: bare quote
		" OK1@Example.com ,again",    // 9
		"ok4@example.com,\xe4",       // 10: Latin-1, not UTF-8
		"*@example.com,W",            // 11
		"ok5@example.com,E,extra",    // 12: an extra field is ignored
		"ok6@example.com,F",          // 13
	}, "\n") + "\n"
	recs, rejects := readAll(t, mustReader(t, list))
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d %s", r.Line, r.Email))
	}
	if want := []string{"2 ok1@example.com", "12 ok5@example.com", "13 ok6@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recipients = %q, want %q", got, want)
	}
	wantRejects := []string{
		`line 3: email "Bob <bob@example.com>": display names are not allowed, give the bare address`,
		`line 4: email "bob@": missing domain`,
		`line 5: email "zoë@example.com": non-ASCII characters, which WordPress's sanitize_email would strip`,
		`line 6: email "b@y": domain has no dot`,
		`line 7: not valid CSV at column 19: extraneous or missing " in quoted-field`,
		`line 8: not valid CSV at column 18: bare " in non-quoted-field`,
		`line 9: email "ok1@example.com": duplicate of line 2`,
		`line 10: column "first_name" is not valid UTF-8 (save the file as UTF-8)`,
		`line 11: email "*@example.com": '*' would make WooCommerce treat it as a wildcard`,
	}
	var gotRejects []string
	for _, r := range rejects {
		gotRejects = append(gotRejects, r.String())
	}
	if !reflect.DeepEqual(gotRejects, wantRejects) {
		t.Errorf("rejects:\n got %q\nwant %q", gotRejects, wantRejects)
	}
}

func TestRecipientReaderUnclosedQuoteIsFatal(t *testing.T) {
	// The quote opened on line 3 swallows lines 4 and 5: stopping is the
	// only way not to lose them unseen.
	rr := mustReader(t, "email,name\na@example.com,A\nb@example.com,\"B\nc@example.com,C\nd@example.com,D\n")
	rec, rej, err := rr.Next()
	if err != nil || rej != nil || rec.Email != "a@example.com" {
		t.Fatalf("first row = %+v, %+v, %v; want a@example.com", rec, rej, err)
	}
	_, rej, err = rr.Next()
	if err == nil || !strings.Contains(err.Error(), "list.csv line 3: quoted field opened here is not closed properly") {
		t.Errorf("second Next = %+v, %v; want a fatal error naming list.csv line 3", rej, err)
	}
}

func TestRecipientReaderSkipsBlankRows(t *testing.T) {
	recs, rejects := readAll(t, mustReader(t, "email,name\r\n\r\n , \r\na@example.com,A\r\n,\r\n\r\n\r\n"))
	if len(recs) != 1 || recs[0].Line != 4 || len(rejects) != 0 {
		t.Errorf("got %+v, rejects %+v; want only a@example.com on line 4", recs, rejects)
	}
}

func TestRecipientReaderIgnoresUnnamedColumns(t *testing.T) {
	// A trailing delimiter in every line gives an unnamed last column.
	recs, rejects := readAll(t, mustReader(t, "email;first_name;\na@example.com;A;\n"))
	want := []Recipient{{Email: "a@example.com", FirstName: "A", Line: 2}}
	if !reflect.DeepEqual(recs, want) || len(rejects) != 0 {
		t.Errorf("got %+v, rejects %+v; want %+v", recs, rejects, want)
	}
}

func TestRecipientReaderFatalOnReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("email\na@example.com\n"), &errReader{boom})
	rr, err := NewRecipientReader(r, "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, rejects, err := drain(rr)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "list.csv: reading after line 2") {
		t.Errorf("err = %v, want the read error after line 2", err)
	}
	if len(recs) != 1 || len(rejects) != 0 {
		t.Errorf("before the error: %d recipients, %d rejects; want 1, 0", len(recs), len(rejects))
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// drain reads a list to its end or first fatal error, returning that error
// (nil at io.EOF).
func drain(rr *RecipientReader) ([]Recipient, []Reject, error) {
	var recs []Recipient
	var rejects []Reject
	for {
		rec, rej, err := rr.Next()
		switch {
		case err == io.EOF:
			return recs, rejects, nil
		case err != nil:
			return recs, rejects, err
		case rej != nil:
			rejects = append(rejects, *rej)
		default:
			recs = append(recs, rec)
		}
	}
}

func TestRecipientNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "  Alice@Example.COM ", want: "alice@example.com"},
		{in: "o'brien+promo@mail.example.co.uk", want: "o'brien+promo@mail.example.co.uk"},
		{in: "a_b-c.d@sub-domain.example.com", want: "a_b-c.d@sub-domain.example.com"},
		{in: "a@b.co", want: "a@b.co"},
		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: "alice", err: "missing @"},
		{in: "@example.com", err: "missing the part before @"},
		{in: "bob@", err: "missing domain"},
		{in: "a@b@example.com", err: "more than one @"},
		{in: "Bob <bob@x.com>", err: "display names are not allowed"},
		{in: "<bob@x.com>", err: "display names are not allowed"},
		{in: `"bob smith"@x.com`, err: `'"' before @`},
		{in: "b@y", err: "domain has no dot"},
		{in: "b@.example.com", err: "domain starts or ends with a dot"},
		{in: "b@example.com.", err: "domain starts or ends with a dot"},
		{in: "b@example..com", err: "two dots in a row"},
		{in: ".b@example.com", err: "the part before @ starts or ends with a dot"},
		{in: "b.@example.com", err: "the part before @ starts or ends with a dot"},
		{in: "b..c@example.com", err: "two dots in a row"},
		{in: "b@-example.com", err: `domain part "-example" starts or ends with '-'`},
		{in: "b@exa_mple.com", err: "domain contains '_'"},
		{in: "b@[127.0.0.1]", err: "domain"},
		{in: "zoë@example.com", err: "non-ASCII"},
		{in: "zoe@münchen.de", err: "non-ASCII"},
		{in: "*@example.com", err: "wildcard"},
		{in: "a*b@example.com", err: "wildcard"},
		{in: "a b@example.com", err: "a space before @"},
		{in: "a\\b@example.com", err: `'\\' before @`},
		{in: "a@b.c", err: "too short"},
		{in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", err: "255 characters, at most 254"},
		{in: "bob@x.com (Bob)", err: "domain contains"},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzRecipientReader reads arbitrary input, with a run of fill bytes of
// any length up to three records inserted in its middle so that rows near
// and over MaxRecordBytes are explored. The reader must never panic, must
// make progress on every call (at most one row per line), must never return
// a row longer than MaxRecordBytes, must read at most a bounded distance
// ahead of the record it is reading, and every error must name the file.
func FuzzRecipientReader(f *testing.F) {
	f.Add([]byte("email,first_name,last_name,city\na@example.com,A,B,C\n"), uint32(0), byte('x'))
	f.Add([]byte("\xef\xbb\xbfE-Mail;Name\r\n\"x@y.com\";\"a;b\"\r\nx@y.com;dup\r\n"), uint32(0), byte(';'))
	f.Add([]byte("email\nBob <bob@x.com>\nb@y\n\"unterminated\n"), uint32(0), byte('"'))
	f.Add([]byte("email,x\na@b.com,x\"y\n,\n\n"), uint32(0), byte(','))
	f.Add([]byte("E-Mail;Vorname;Name\na@example.com;Anna;Anna\u00a0M\u00fcller \nb@example.com;;\u0085Bernd\tBraun\n"), uint32(0), byte(' '))
	f.Add([]byte("email,note\na@example.com,\nb@example.com,x\n"), uint32(MaxRecordBytes-16), byte('n'))
	f.Add([]byte("email,note\na@example.com,\nb@example.com,x\n"), uint32(MaxRecordBytes+1), byte('n'))
	f.Add([]byte("email,note\na@example.com,\"\nb@example.com,x\"\n"), uint32(2*MaxRecordBytes), byte('\n'))
	if b, err := os.ReadFile("testdata/recipients_excel.csv"); err == nil {
		f.Add(b, uint32(0), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, fill uint32, fillByte byte) {
		if n := int(fill % (3 * MaxRecordBytes)); n > 0 {
			mid := len(data) / 2
			data = append(data[:mid:mid], append(bytes.Repeat([]byte{fillByte}, n), data[mid:]...)...)
		}
		rr, err := NewRecipientReader(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("header error %q does not name the file", err)
			}
			return
		}
		seen := map[string]int{}
		rows, lastLine := 0, 0
		maxRows := bytes.Count(data, []byte{'\n'}) + 1
		for {
			rec, rej, err := rr.Next()
			if ahead := rr.bound.n - (rr.pre + rr.cr.InputOffset()); ahead > MaxRecordBytes+sniffLimit {
				t.Fatalf("read %d bytes ahead of the last record, want at most %d", ahead, MaxRecordBytes+sniffLimit)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "fuzz.csv") {
					t.Fatalf("fatal error %q does not name the file", err)
				}
				var fe *RecipientFileError
				if !errors.As(err, &fe) {
					t.Fatalf("fatal error %q is not a *RecipientFileError", err)
				}
				break
			}
			rows++
			if rows > maxRows {
				t.Fatalf("%d rows from %d lines: the reader does not make progress", rows, maxRows)
			}
			line := rec.Line
			size := len(rec.Email) + len(rec.FirstName) + len(rec.LastName)
			for _, v := range rec.Fields {
				size += len(v)
			}
			if rej != nil {
				if rec.Email != "" || rec.Line != 0 {
					t.Fatalf("Next returned both %+v and %+v", rec, rej)
				}
				if rej.Reason == "" {
					t.Fatalf("reject on line %d without a reason", rej.Line)
				}
				line = rej.Line
				for _, f := range rej.Record {
					size += len(f)
				}
			} else {
				norm, err := NormalizeEmail(rec.Email)
				if err != nil || norm != rec.Email {
					t.Fatalf("recipient with invalid email %q (%v)", rec.Email, err)
				}
				if first, dup := seen[rec.Email]; dup {
					t.Fatalf("email %q returned on lines %d and %d", rec.Email, first, rec.Line)
				}
				seen[rec.Email] = rec.Line
				if CleanName(rec.FirstName) != rec.FirstName || CleanName(rec.LastName) != rec.LastName {
					t.Fatalf("names %q %q are not clean", rec.FirstName, rec.LastName)
				}
			}
			if size > MaxRecordBytes {
				t.Fatalf("row on line %d has %d bytes of fields, over MaxRecordBytes", line, size)
			}
			if line <= lastLine {
				t.Fatalf("line %d after line %d", line, lastLine)
			}
			lastLine = line
		}
		if rows != rr.Rows() {
			t.Fatalf("counted %d rows, Rows() = %d", rows, rr.Rows())
		}
	})
}

// genList writes a recipient list of n distinct rows to w.
func genList(w io.Writer, n int) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, "email,first_name,last_name\n"...)
	for i := range n {
		// strconv instead of fmt: the generator must not allocate, so
		// that B/op is the reader's alone.
		buf = append(buf, "user"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, "@example.com,First"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, ",Last\n"...)
		if len(buf) > 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// BenchmarkRecipientReader1M streams a generated list of 1,000,000 rows
// through the reader. It reports bytes allocated per row (garbage, not kept),
// the peak live heap, and how much the live heap grew per row between row
// 100,000 and the end: only the dedup map should grow (~20 B/row).
func BenchmarkRecipientReader1M(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	var peak, at100k, atEnd uint64
	var ms runtime.MemStats
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(genList(pw, n)) }()
		rr, err := NewRecipientReader(pr, "bench.csv")
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			_, rej, err := rr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rej != nil {
				b.Fatalf("unexpected reject %v", rej)
			}
			rows++
			if rows%100_000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
				if rows == 100_000 {
					at100k = ms.HeapAlloc
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		atEnd = ms.HeapAlloc
		runtime.KeepAlive(rr)
		if rows != n {
			b.Fatalf("read %d rows, want %d", rows, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric((float64(atEnd)-float64(at100k))/(n-100_000), "heap-growth-B/row")
}

func TestRecipientReaderCountsTheSepLineInLineNumbers(t *testing.T) {
	_, rejects := readAll(t, mustReader(t, "sep=,\nemail,name\nbad,B\nok@example.com,x\"y\n"))
	var got []string
	for _, r := range rejects {
		got = append(got, r.String())
	}
	want := []string{`line 3: email "bad": missing @`, `line 4: not valid CSV at column 17: bare " in non-quoted-field`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rejects = %q, want %q", got, want)
	}
	_, err := NewRecipientReader(strings.NewReader("sep=;\nname\n"), "list.csv")
	if err == nil || !strings.Contains(err.Error(), "list.csv line 2: no email column") {
		t.Errorf("header error = %v, want it on line 2", err)
	}
}
