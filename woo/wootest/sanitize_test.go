package wootest

import (
	"testing"
	"time"
)

func TestSanitizeEmailMatchesWordPress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"Bob <bob@x.com>", "Bobbob@x.com"},
		{"zoë@münchen.de", "zo@mnchen.de"},
		{"b@y", ""},
		{"short", ""},
		{"no-at-sign.example.com", ""},
		{"@start@example.com", "start@example.com"},
		{"a b@example.com", "ab@example.com"},
		{"ann@exa..mple.com", "ann@example.com"},
		{"ann@.example.com.", "ann@example.com"},
		{"ann@-ex-.com", "ann@ex.com"},
		{"ann@localhost", ""},
		{"ann@ex_ample.com", "ann@example.com"},
		{"ünïcödé@ü.com", ""},
		{"o'brien+tag@example.co.uk", "o'brien+tag@example.co.uk"},
		{"*@example.com", "*@example.com"},
		{"ann@@example.com", "ann@example.com"},
	} {
		if got := SanitizeEmail(tc.in); got != tc.want {
			t.Errorf("SanitizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsEmailAcceptsWildcardsAndRejectsBrokenDomains(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ann@example.com", true},
		{"*@example.com", true},
		{"ann@-x.com", false},
		{"ann@x", false},
		{"a@b.c", false}, // shorter than 6
	} {
		if got := isEmail(tc.in); got != tc.want {
			t.Errorf("isEmail(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFormatCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ABC-1", "abc-1"},
		{"  Spaced  ", "spaced"},
		{"&lt;X&gt;", ""},
		{"<em>Bold</em>Code", "boldcode"},
		{"Fish&amp;Chips", "fish&chips"},
		{"ÄRGER", "ärger"},
	} {
		if got := formatCode(tc.in); got != tc.want {
			t.Errorf("formatCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseExpiryNumericTimestampIsUTC(t *testing.T) {
	got, ok := parseExpiry("1798761599", time.FixedZone("x", 3600))
	if want := time.Unix(1798761599, 0).UTC(); !ok || !got.Equal(want) {
		t.Errorf("parseExpiry(timestamp) = %v %v, want %v", got, ok, want)
	}
	// Out-of-range fields are normalized like gmmktime.
	got, ok = parseExpiry("2026-02-30T00:00:00Z", time.UTC)
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("parseExpiry(Feb 30) = %v %v, want %v", got, ok, want)
	}
}
