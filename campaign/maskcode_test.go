package campaign

import "testing"

func TestMaskCodeKeepsFourAndTwoAndHidesShortCodes(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{"TEST-ABCD-EFGH-JKLM", "TEST*************LM"},
		{"ABCDEFGHIJ", "ABCD****IJ"},
		{"ABCDEFGHI", "*********"},
		{"AB", "**"},
		{"", ""},
		{"ÄÖÜßABCDEFGH", "ÄÖÜß******GH"},
	} {
		if got := MaskCode(tc.code); got != tc.want {
			t.Errorf("MaskCode(%q) = %q; want %q", tc.code, got, tc.want)
		}
	}
}
