package campaign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuppressionListMatchesAddressesAndDomains(t *testing.T) {
	list := "\ufeff# unsubscribed\nBob@Example.com\n  @competitor.org   # their staff\n*@spam.test\n\n"
	s, err := ReadSuppressionList(strings.NewReader(list), "suppress.txt")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3", s.Len())
	}
	for email, want := range map[string]bool{
		"bob@example.com":          true,
		"BOB@example.com":          true,
		"alice@example.com":        false,
		"ceo@competitor.org":       true,
		"x@mail.competitor.org":    true,
		"x@notcompetitor.org":      false,
		"someone@spam.test":        true,
		"competitor.org@gmail.com": false,
	} {
		if got := s.Contains(email); got != want {
			t.Errorf("Contains(%q) = %v, want %v", email, got, want)
		}
	}
	var nilList *SuppressionList
	if nilList.Contains("bob@example.com") {
		t.Error("nil list suppresses")
	}
}

func TestSuppressionListReportsEveryBadLineWithFileAndLine(t *testing.T) {
	list := "ok@example.com\nnot an address\n@\n@localhost\nBob <bob@x.com>\n"
	_, err := ReadSuppressionList(strings.NewReader(list), "suppress.txt")
	if err == nil {
		t.Fatal("no error for bad lines")
	}
	for _, want := range []string{"suppress.txt:2:", "suppress.txt:3:", "suppress.txt:4:", "suppress.txt:5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "suppress.txt:1:") {
		t.Errorf("error %q blames the good line 1", err)
	}
}

func TestLoadSuppressionListMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.txt")
	_, err := LoadSuppressionList(path)
	if err == nil || !strings.Contains(err.Error(), "nope.txt") || !os.IsNotExist(suppressUnwrapAll(err)) {
		t.Errorf("LoadSuppressionList(missing) = %v, want a not-exist error naming the file", err)
	}
}

func suppressUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzReadSuppressionList(f *testing.F) {
	f.Add("# c\nbob@example.com\n@example.org\n*@example.net\n")
	f.Add("\ufeffBob <bob@x.com>\n@\n@localhost\n")
	f.Add("a@b.co # trailing\n\n\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ReadSuppressionList(strings.NewReader(text), "f.txt")
		if err != nil {
			if !strings.Contains(err.Error(), "f.txt") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		// Every address entry that was accepted is suppressed.
		for _, line := range strings.Split(text, "\n") {
			line, _, _ = strings.Cut(line, "#")
			line = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "\ufeff")))
			if e, err := NormalizeEmail(line); err == nil && !strings.HasPrefix(line, "@") && !s.Contains(e) {
				t.Fatalf("%q accepted but not suppressed", e)
			}
		}
	})
}
