package main

import (
	"strings"
	"testing"
)

func TestExportWritesFormulaLikeNamesAsText(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", "email,first_name,city\nann@example.com,\"=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\",Berlin\nbob@example.com,-2+3+cmd|' /C calc'!A0,Paris\n")
	wantCode(t, s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list), exitOK)
	out := s.path("out.csv")
	wantCode(t, s.run(t, t.Context(), "export", "welcome", "--out", out), exitOK)
	names := map[string]string{}
	for _, row := range readCSV(t, out)[1:] {
		names[row[0]] = row[1]
	}
	want := map[string]string{
		"ann@example.com": `'=HYPERLINK("http://evil.test","x")`,
		"bob@example.com": `'-2+3+cmd|' /C calc'!A0`,
	}
	for email, w := range want {
		if names[email] != w {
			t.Errorf("first_name of %s = %q, want %q", email, names[email], w)
		}
	}
	for _, row := range readCSV(t, out)[1:] {
		if strings.HasPrefix(row[2], "=") || strings.HasPrefix(row[2], "'") {
			t.Errorf("code cell %q changed", row[2])
		}
	}
}
