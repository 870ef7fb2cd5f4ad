package campaign

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// endless is an io.Reader that never ends: an endless line of one byte,
// what a symlink to /dev/zero or a broken export gives.
type endless struct {
	b byte
	n int64
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestRecipientReaderRefusesAnEndlessRowWithItsLine(t *testing.T) {
	src := &endless{b: 'x'}
	r := io.MultiReader(strings.NewReader("email,first_name\na@example.com,A\nb@example.com,\"B\nb\"\n"), src)
	rr, err := NewRecipientReader(r, "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := drain(rr)
	var fe *RecipientFileError
	if !errors.As(err, &fe) || fe.Line != 5 || !strings.Contains(err.Error(), "list.csv line 5: a row is over 64 KiB") {
		t.Fatalf("err = %v, want a fatal error naming list.csv line 5 and the 64 KiB limit", err)
	}
	if len(recs) != 2 {
		t.Errorf("read %d recipients before the endless row, want 2", len(recs))
	}
	if src.n > 4*MaxRecordBytes {
		t.Errorf("read %d bytes of the endless row, want at most about %d", src.n, MaxRecordBytes+sniffLimit)
	}
}

func TestRecipientReaderRefusesAnEndlessHeader(t *testing.T) {
	src := &endless{b: 0}
	_, err := NewRecipientReader(src, "zero.csv")
	var fe *RecipientFileError
	if !errors.As(err, &fe) || fe.Line != 1 || !strings.Contains(err.Error(), "over 64 KiB") {
		t.Fatalf("err = %v, want a fatal error on line 1", err)
	}
	if src.n > 4*MaxRecordBytes {
		t.Errorf("read %d bytes, want at most about %d", src.n, MaxRecordBytes+2*sniffLimit)
	}
}

func TestRecipientReaderRefusesARowJustOverTheBoundAndTakesOneAtIt(t *testing.T) {
	// A row of exactly MaxRecordBytes (its '\n' included) is read; one byte
	// more is refused, wherever the buffer happens to stand.
	row := func(n int) string {
		s := "a@example.com,"
		return s + strings.Repeat("n", n-len(s)-1) + "\n"
	}
	list := "email,note\n" + row(MaxRecordBytes) + "b@example.com,x\n"
	recs, rejects, err := drain(mustReader(t, list))
	if err != nil || len(recs) != 2 || len(rejects) != 0 {
		t.Errorf("a row at the bound: %d recipients, %v rejects, err %v; want 2, none, nil", len(recs), rejects, err)
	}
	list = "email,note\nb@example.com,x\n" + row(MaxRecordBytes+1) + "c@example.com,x\n"
	_, _, err = drain(mustReader(t, list))
	var fe *RecipientFileError
	if !errors.As(err, &fe) || fe.Line != 3 {
		t.Errorf("a row one byte over the bound: err = %v, want a fatal error on line 3", err)
	}
}

func TestRecipientReaderReadsRaggedRowsWhenTheEmailColumnIsThere(t *testing.T) {
	list := "first_name,email,city,zip\n" +
		"Ann,ann@example.com\n" + // 2: short, as Excel writes rows with empty trailing cells
		"Bob,bob@example.com,Paris,75001,extra,more\n" + // 3: long
		"Cid\n" + // 4: ends before the email column
		"Dan,dan@example.com,Rome,\xe4\xe4,x\n" // 5: a header column still is checked
	recs, rejects := readAll(t, mustReader(t, list))
	want := []Recipient{
		{Email: "ann@example.com", FirstName: "Ann", Fields: map[string]string{"city": "", "zip": ""}, Line: 2},
		{Email: "bob@example.com", FirstName: "Bob", Fields: map[string]string{"city": "Paris", "zip": "75001"}, Line: 3},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("recipients:\n got %+v\nwant %+v", recs, want)
	}
	var got []string
	for _, r := range rejects {
		got = append(got, r.String())
	}
	wantRejects := []string{
		`line 4: has 1 fields and ends before the email column ("email", field 2)`,
		`line 5: column "zip" is not valid UTF-8 (save the file as UTF-8)`,
	}
	if !reflect.DeepEqual(got, wantRejects) {
		t.Errorf("rejects:\n got %q\nwant %q", got, wantRejects)
	}
	// Bytes past the header's columns are ignored, not checked.
	recs, rejects = readAll(t, mustReader(t, "email\neve@example.com,\xff\n"))
	if len(recs) != 1 || len(rejects) != 0 {
		t.Errorf("extra field with bad UTF-8: %+v, %+v; want the recipient", recs, rejects)
	}
}

func TestRecipientReaderCutsLongNamesAndTurnsControlCharactersIntoSpaces(t *testing.T) {
	long := strings.Repeat("é", 10_000)
	list := "email,first_name,last_name\n" +
		"eve@example.com,\"Eve\r\nBcc: attacker@evil.test,\",\"Doe\u2028X\"\n" +
		"max@example.com," + long + ",Tab\tbed\n"
	recs, rejects := readAll(t, mustReader(t, list))
	if len(rejects) != 0 || len(recs) != 2 {
		t.Fatalf("got %+v, rejects %+v", recs, rejects)
	}
	if got, want := recs[0].FirstName, "Eve Bcc: attacker@evil.test,"; got != want {
		t.Errorf("first name = %q, want %q", got, want)
	}
	if got, want := recs[0].LastName, "Doe X"; got != want {
		t.Errorf("last name = %q, want %q", got, want)
	}
	if got, want := recs[1].FirstName, strings.Repeat("é", MaxNameRunes); got != want {
		t.Errorf("long first name has %d runes (%d bytes), want %d runes", len([]rune(got)), len(got), MaxNameRunes)
	}
	if got, want := recs[1].LastName, "Tab bed"; got != want {
		t.Errorf("last name = %q, want %q", got, want)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Ann ", "Ann"},
		{"Zoë", "Zoë"},
		{"Eve\r\nBcc: x@evil.test", "Eve Bcc: x@evil.test"},
		{"a\x00b\x1bc\x7fd\u0085e\u009ff\u2028g\u2029h", "a b c d e f g h"},
		{"\x00\x01Ann\x02", "Ann"},
		{"Ann\xffMarie", "Ann\uFFFDMarie"},
		{strings.Repeat("a", 99) + "\r\nb", strings.Repeat("a", 99)},
		{strings.Repeat("ß", 101), strings.Repeat("ß", 100)},
	}
	for _, tt := range tests {
		if got := CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeEmailRefusesWhatNoMailServerDeliversTo(t *testing.T) {
	tests := []struct{ in, err string }{
		{"bob@192.0.2.1", "an IP address instead of a domain name"},
		{"bob@[192.0.2.1]", "an IP literal"},
		{"bob@[ipv6:2001:db8::1]", "an IP literal"},
		{"bob@example.c", `top-level domain "c" is under two letters`},
		{"bob@example.123", `top-level domain "123" is numeric`},
		{strings.Repeat("a", 65) + "@example.com", "the part before @ has 65 characters, at most 64"},
		{"bob@" + strings.Repeat("b", 64) + ".com", "has 64 characters, at most 63"},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62), "255 characters, at most 254"},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
		}
	}
	for _, ok := range []string{
		strings.Repeat("a", 64) + "@example.com",
		"bob@" + strings.Repeat("b", 63) + ".com",
		"bob@example.co",
		"bob@1example.com",
		"bob@123.example.com",
		"bob@xn--mnchen-3ya.de",
	} {
		if _, err := NormalizeEmail(ok); err != nil {
			t.Errorf("NormalizeEmail(%q) = %v, want it accepted", ok, err)
		}
	}
}

func TestCheckRecipientFileCountsRowsAndGivesTheFirstFatalErrorWithItsLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte("email,first_name,city\na@example.com,A,X\nbad,B,Y\nc@example.com,C,Z\na@example.com,dup,Q\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := CheckRecipientFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 4 || st.Valid != 2 || st.Rejected != 2 || len(st.Rejects) != 2 || st.Rejects[0].Line != 3 || st.Rejects[1].Line != 5 {
		t.Errorf("stats = %+v, want 4 rows, 2 valid, 2 rejected on lines 3 and 5", st)
	}
	if fi, _ := os.Stat(good); st.Bytes != fi.Size() {
		t.Errorf("Bytes = %d, want the file size %d", st.Bytes, fi.Size())
	}
	if !reflect.DeepEqual(st.Fields, []string{"city"}) || !reflect.DeepEqual(st.Header, []string{"email", "first_name", "city"}) {
		t.Errorf("header %q, fields %q", st.Header, st.Fields)
	}

	broken := filepath.Join(dir, "broken.csv")
	if err := os.WriteFile(broken, []byte("email\na@example.com\nb@example.com\n\"c@example.com\nd@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = CheckRecipientFile(broken)
	var fe *RecipientFileError
	if !errors.As(err, &fe) || fe.File != broken || fe.Line != 4 {
		t.Fatalf("err = %v, want a RecipientFileError for %s line 4", err, broken)
	}
	if st.Valid != 2 {
		t.Errorf("stats = %+v, want the 2 rows before the error counted", st)
	}

	_, err = CheckRecipientFile(filepath.Join(dir, "missing.csv"))
	if !errors.As(err, &fe) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: err = %v, want a RecipientFileError matching fs.ErrNotExist", err)
	}
	_, err = CheckRecipientFile(dir)
	if !errors.Is(err, ErrNotRegularFile) || !strings.Contains(err.Error(), "a folder") {
		t.Errorf("folder: err = %v, want ErrNotRegularFile saying it is a folder", err)
	}
}
