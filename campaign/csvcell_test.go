package campaign

import (
	"bytes"
	"testing"
)

func TestSpreadsheetSafeQuotesFormulaCellsAndKeepsNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ann", "Ann"},
		{"=HYPERLINK(\"http://evil.test\",\"x\")", "'=HYPERLINK(\"http://evil.test\",\"x\")"},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"-", "-"},
		{"--", "'--"},
		{"-.5", "'-.5"},
		{"-5.", "'-5."},
		{"-5.00", "-5.00"},
		{"+3", "+3"},
		{"12.50", "12.50"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
	}
	for _, tt := range tests {
		if got := SpreadsheetSafe(tt.in); got != tt.want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVWriterNeutralizesEveryCellWithoutTouchingTheRecord(t *testing.T) {
	var b bytes.Buffer
	w := NewCSVWriter(&b)
	rec := []string{"=1+1", "Ann", "-5.00"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "'=1+1,Ann,-5.00\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if rec[0] != "=1+1" {
		t.Errorf("Write changed the caller's record: %q", rec)
	}
}
