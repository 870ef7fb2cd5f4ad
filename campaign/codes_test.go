package campaign

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
)

// counterReader yields 0, 1, ..., 255, 0, 1, ... forever: every byte value
// equally often, so rejection sampling must give every symbol equally often.
type counterReader struct{ next byte }

func (r *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// repeatReader yields its bytes over and over.
type repeatReader struct {
	b   []byte
	pos int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[r.pos%len(r.b)]
		r.pos++
	}
	return len(p), nil
}

func TestCodeSpecValidateRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec CodeSpec
		want string // substring of the error
	}{
		{"prefix with space", CodeSpec{Prefix: "VIP "}, `codes.prefix: "VIP " contains a space at position 4`},
		{"prefix with tag", CodeSpec{Prefix: "<b>VIP"}, `contains '<'`},
		{"prefix with entity", CodeSpec{Prefix: "A&amp;B-"}, `contains '&'`},
		{"prefix with quote", CodeSpec{Prefix: `O"K-`}, `contains '"'`},
		{"prefix with apostrophe", CodeSpec{Prefix: "IT'S-"}, `contains '\''`},
		{"prefix non-ASCII", CodeSpec{Prefix: "SCHÖN-"}, "non-ASCII"},
		{"prefix with tab", CodeSpec{Prefix: "A\tB"}, "control character"},
		{"prefix too long", CodeSpec{Prefix: strings.Repeat("A", 33)}, "codes.prefix: 33 characters, at most 32"},
		{"pattern lowercase x", CodeSpec{Pattern: "XXXX-xxxx"}, "lowercase x at position 6"},
		{"pattern without X", CodeSpec{Pattern: "ABCD-1234"}, "has no X"},
		{"pattern with dot", CodeSpec{Pattern: "XXXX.XXXX"}, `contains '.' at position 5`},
		{"pattern with space", CodeSpec{Pattern: "XXXX XXXX"}, "contains a space"},
		{"pattern and length", CodeSpec{Pattern: "XXXX", Length: 8}, "set either pattern or length"},
		{"group without length", CodeSpec{GroupSize: 4}, "codes.group_size: needs length"},
		{"negative length", CodeSpec{Length: -3}, "codes.length: must be positive"},
		{"negative group", CodeSpec{Length: 8, GroupSize: -1}, "codes.group_size: must be 0"},
		{"length too long", CodeSpec{Length: 65}, "codes.length: 65 symbols, at most 64"},
		{"whole code too long", CodeSpec{Prefix: strings.Repeat("A", 30), Pattern: strings.Repeat("X", 40)}, "codes would be 70 characters long"},
		{"alphabet duplicate", CodeSpec{Alphabet: "ABCA"}, `codes.alphabet: symbol 'A' appears twice`},
		{"alphabet case pair", CodeSpec{Alphabet: "abcB"}, `'b' and 'B' differ only in case`},
		{"alphabet one symbol", CodeSpec{Alphabet: "A"}, "needs at least 2 symbols, has 1"},
		{"alphabet punctuation", CodeSpec{Alphabet: "AB-C"}, "codes.alphabet: contains '-'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want error containing %q", tt.spec, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate(%+v) = %q, want it to contain %q", tt.spec, err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "codes") {
				t.Errorf("error %q is not a *FieldError under codes.", err)
			}
			if _, gerr := NewCodeGenerator(tt.spec, nil); gerr == nil {
				t.Errorf("NewCodeGenerator accepted a spec Validate refused")
			}
		})
	}
}

func TestCodeSpecValidateReportsAllProblemsAtOnce(t *testing.T) {
	err := CodeSpec{Prefix: "A B", Pattern: "xx", Alphabet: "AA"}.Validate()
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"codes.prefix", "codes.pattern", "codes.alphabet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestCodeSpecLayout(t *testing.T) {
	tests := []struct {
		spec CodeSpec
		want string
		bits float64
	}{
		{CodeSpec{}, "XXXX-XXXX-XXXX", 12 * math.Log2(31)},
		{CodeSpec{Prefix: "WELCOME-", Pattern: "XXXX-XXXX"}, "WELCOME-XXXX-XXXX", 8 * math.Log2(31)},
		{CodeSpec{Prefix: "vip_", Pattern: "AB-XX_9X"}, "vip_AB-XX_9X", 3 * math.Log2(31)},
		{CodeSpec{Length: 10, GroupSize: 4}, "XXXX-XXXX-XX", 10 * math.Log2(31)},
		{CodeSpec{Length: 8}, "XXXXXXXX", 8 * math.Log2(31)},
		{CodeSpec{Length: 6, GroupSize: 3, Alphabet: "0123456789"}, "XXX-XXX", 6 * math.Log2(10)},
		{CodeSpec{Pattern: "XX", Alphabet: "ab"}, "XX", 2},
	}
	for _, tt := range tests {
		g, err := NewCodeGenerator(tt.spec, nil)
		if err != nil {
			t.Fatalf("NewCodeGenerator(%+v): %v", tt.spec, err)
		}
		if got := g.Layout(); got != tt.want {
			t.Errorf("Layout(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
		if got := g.Bits(); math.Abs(got-tt.bits) > 1e-9 {
			t.Errorf("Bits(%+v) = %v, want %v", tt.spec, got, tt.bits)
		}
		if got, want := g.SpaceSize(), math.Exp2(tt.bits); math.Abs(got-want)/want > 1e-9 {
			t.Errorf("SpaceSize(%+v) = %v, want %v", tt.spec, got, want)
		}
	}
	if got := (CodeSpec{Pattern: "x"}).Layout(); got != "" {
		t.Errorf("Layout of an invalid spec = %q, want empty", got)
	}
}

// matchesLayout reports whether code is prefix followed by the rest of the
// layout: its literals in place and a symbol of alphabet at every X.
func matchesLayout(code, prefix, layout, alphabet string) bool {
	if len(code) != len(layout) || !strings.HasPrefix(code, prefix) || !strings.HasPrefix(layout, prefix) {
		return false
	}
	code, layout = code[len(prefix):], layout[len(prefix):]
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'X' {
			if strings.IndexByte(alphabet, code[i]) < 0 {
				return false
			}
		} else if code[i] != layout[i] {
			return false
		}
	}
	return true
}

func TestCodeGeneratorFollowsLayout(t *testing.T) {
	spec := CodeSpec{Prefix: "WELCOME-", Pattern: "XXXX-XXXX-XXXX"}
	g, err := NewCodeGenerator(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		code, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !matchesLayout(code, "WELCOME-", "WELCOME-XXXX-XXXX-XXXX", DefaultAlphabet) {
			t.Fatalf("code %q does not match WELCOME-XXXX-XXXX-XXXX over %s", code, DefaultAlphabet)
		}
	}
}

func TestCodeGeneratorDrawsEverySymbolEquallyOften(t *testing.T) {
	// Over whole cycles of all 256 byte values, an unbiased sampler takes
	// the 248 values below the rejection limit (256 - 256%31) and maps
	// exactly 8 to each of the 31 symbols; plain modulo would give the
	// first 8 symbols 9 each.
	g, err := NewCodeGenerator(CodeSpec{Length: 31}, &counterReader{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[byte]int{}
	for range 8 * 16 { // 16 * 256 bytes = 4096 bytes = one buffer, 3968 symbols = 128 codes
		code, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(code); i++ {
			counts[code[i]]++
		}
	}
	for i := 0; i < len(DefaultAlphabet); i++ {
		if got := counts[DefaultAlphabet[i]]; got != 128 {
			t.Errorf("symbol %q drawn %d times, want 128", DefaultAlphabet[i], got)
		}
	}
}

func TestCodeGeneratorSkipsBytesAboveTheRejectionLimit(t *testing.T) {
	// 248..255 would make symbols 0..7 more likely if taken modulo 31.
	g, err := NewCodeGenerator(CodeSpec{Pattern: "XX", Alphabet: DefaultAlphabet}, &repeatReader{b: []byte{248, 255, 5, 250, 31 + 2}})
	if err != nil {
		t.Fatal(err)
	}
	code, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := string([]byte{DefaultAlphabet[5], DefaultAlphabet[2]}); code != want {
		t.Errorf("Next() = %q, want %q", code, want)
	}
	// With 256 % n == 0 nothing is rejected: 255 % 16 = 15.
	g, err = NewCodeGenerator(CodeSpec{Pattern: "X", Alphabet: "0123456789ABCDEF"}, &repeatReader{b: []byte{255}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := g.Next(); err != nil || code != "F" {
		t.Errorf("Next() = %q, %v; want \"F\", nil", code, err)
	}
}

func TestCodeGeneratorFailsOnBrokenRandomSource(t *testing.T) {
	g, err := NewCodeGenerator(CodeSpec{}, &repeatReader{b: []byte{255}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := g.Next(); err == nil || !strings.Contains(err.Error(), "random source is broken") {
		t.Errorf("Next() = %q, %v; want a broken-source error", code, err)
	}

	g, err = NewCodeGenerator(CodeSpec{}, bytes.NewReader(make([]byte, 10)))
	if err != nil {
		t.Fatal(err)
	}
	if code, err := g.Next(); !errors.Is(err, io.ErrUnexpectedEOF) || code != "" {
		t.Errorf("Next() with a short reader = %q, %v; want \"\", io.ErrUnexpectedEOF", code, err)
	}
}

func TestCodeGeneratorIsSafeForConcurrentUse(t *testing.T) {
	g, err := NewCodeGenerator(CodeSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				code, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[code] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 2000 {
		t.Errorf("4×500 codes from crypto/rand gave %d distinct, want 2000", len(seen))
	}
}

func TestCodeCheckCapacity(t *testing.T) {
	g, err := NewCodeGenerator(CodeSpec{Prefix: "WELCOME-", Pattern: "XXXX-XXXX-XXXX"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 12 symbols of 31: 59.45 bits. 2^40 × 2^19 ≈ 524288 codes fit, 1e6 do not.
	if err := g.CheckCapacity(500_000, 0); err != nil {
		t.Errorf("CheckCapacity(500000, default) = %v, want nil", err)
	}
	err = g.CheckCapacity(1_000_000, 40)
	if err == nil {
		t.Fatal("CheckCapacity(1000000, 40) = nil, want refusal")
	}
	for _, want := range []string{"59.5 bits", "1000000 codes need 59.9 bits", "add at least 1 more X", `"WELCOME-XXXX-XXXX-XXXX-X"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckCapacity error %q does not contain %q", err, want)
		}
	}

	small, err := NewCodeGenerator(CodeSpec{Length: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 6 × 4.95 = 29.7 bits; 100 codes need 46.6: 4 more symbols.
	err = small.CheckCapacity(100, 40)
	if err == nil || !strings.Contains(err.Error(), "add at least 4 more X") || !strings.Contains(err.Error(), `"XXXXXXXXXX"`) {
		t.Errorf("CheckCapacity(100) on 6 symbols = %v, want a request for 4 more symbols and \"XXXXXXXXXX\"", err)
	}
	// Even a single code needs the 40-bit margin.
	if err := small.CheckCapacity(1, 40); err == nil {
		t.Error("CheckCapacity(1, 40) on 29.7 bits = nil, want refusal")
	}
	if err := small.CheckCapacity(1, 20); err != nil {
		t.Errorf("CheckCapacity(1, 20) on 29.7 bits = %v, want nil", err)
	}
}

func TestCodeGuessProbabilityAndStrength(t *testing.T) {
	g, err := NewCodeGenerator(CodeSpec{Pattern: "XXXXXXXXXX", Alphabet: "0123456789"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.GuessProbability(1000); math.Abs(got-1e-7)/1e-7 > 1e-9 {
		t.Errorf("GuessProbability(1000) over 10^10 = %v, want 1e-7", got)
	}
	if got := g.GuessProbability(0); got != 0 {
		t.Errorf("GuessProbability(0) = %v, want 0", got)
	}
	want := "33.2 bits per code; one random guess hits one of 1,000 live codes with odds of 1 in 10 million"
	if got := g.Strength(1000); got != want {
		t.Errorf("Strength(1000) = %q, want %q", got, want)
	}
	if got := g.Strength(0); got != "33.2 bits per code" {
		t.Errorf("Strength(0) = %q", got)
	}
}

func TestCodeFormatOdds(t *testing.T) {
	tests := []struct {
		p    float64
		want string
	}{
		{0, "none"},
		{1, "1 in 1"},
		{2, "1 in 1"},
		{0.5, "1 in 2"},
		{1.0 / 12345, "1 in 12,345"},
		{1e-6, "1 in 1 million"},
		{1 / 8.128e10, "1 in 81.3 billion"},
		{1 / 8.128e9, "1 in 8.13 billion"},
		{1 / 812.8e12, "1 in 813 trillion"},
		{1e-18, "1 in 1 quintillion"},
		{1 / 3.2e24, "1 in 3.2e+24"},
	}
	for _, tt := range tests {
		if got := FormatOdds(tt.p); got != tt.want {
			t.Errorf("FormatOdds(%g) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestCodeKeyIsLowercase(t *testing.T) {
	if got := CodeKey("WELCOME-AB2C-x9Z"); got != "welcome-ab2c-x9z" {
		t.Errorf("CodeKey = %q, want %q", got, "welcome-ab2c-x9z")
	}
	if CodeKey("Vip-ABCD") != CodeKey("VIP-abcd") {
		t.Error("codes differing only in case must have the same key")
	}
}

func FuzzParseCodeSpec(f *testing.F) {
	f.Add("WELCOME-", "XXXX-XXXX-XXXX", 0, 0, "")
	f.Add("", "", 10, 4, "")
	f.Add("vip_", "AB-XX_9X", 0, 0, "abc")
	f.Add("<b>", "xX", 0, 0, "aA")
	f.Add("", "", 64, 1, "01")
	f.Add("Ä", "X\x00", -1, -1, "ß")
	f.Fuzz(func(t *testing.T, prefix, pattern string, length, group int, alphabet string) {
		spec := CodeSpec{Prefix: prefix, Pattern: pattern, Length: length, GroupSize: group, Alphabet: alphabet}
		verr := spec.Validate()
		g, err := NewCodeGenerator(spec, &counterReader{})
		if (verr == nil) != (err == nil) {
			t.Fatalf("Validate = %v but NewCodeGenerator = %v", verr, err)
		}
		if err != nil {
			return
		}
		if spec.Layout() == "" || g.Bits() <= 0 || math.IsInf(g.SpaceSize(), 0) {
			t.Fatalf("accepted spec %+v has layout %q, bits %v, space %v", spec, spec.Layout(), g.Bits(), g.SpaceSize())
		}
		alpha := alphabet
		if alpha == "" {
			alpha = DefaultAlphabet
		}
		code, err := g.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !matchesLayout(code, prefix, spec.Layout(), alpha) {
			t.Fatalf("code %q does not match layout %q over %q", code, spec.Layout(), alpha)
		}
		if len(code) > maxCodeLen {
			t.Fatalf("code %q longer than %d", code, maxCodeLen)
		}
		for i := 0; i < len(code); i++ {
			if !isCodeLiteral(code[i]) {
				t.Fatalf("code %q has %q, which WooCommerce may rewrite", code, code[i])
			}
		}
	})
}

// BenchmarkCodeGenerator1M generates 1,000,000 unique codes of the default
// spec, deduplicated in a map as the planner does, and reports ns/code.
func BenchmarkCodeGenerator1M(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	for b.Loop() {
		g, err := NewCodeGenerator(CodeSpec{Prefix: "WELCOME-"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		seen := make(map[string]struct{}, n)
		for len(seen) < n {
			code, err := g.Next()
			if err != nil {
				b.Fatal(err)
			}
			// The raw code is its own key here: the prefix is fixed and
			// the alphabet has no two symbols differing only in case, so
			// CodeKey is one-to-one on generated codes.
			seen[code] = struct{}{}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/code")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/1M")
}

// BenchmarkCodeGeneratorNext measures drawing one code alone, without the
// dedup map, to show how the 1M figure splits between generating and
// deduplicating.
func BenchmarkCodeGeneratorNext(b *testing.B) {
	g, err := NewCodeGenerator(CodeSpec{Prefix: "WELCOME-"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
