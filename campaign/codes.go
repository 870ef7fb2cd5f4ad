package campaign

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

// DefaultAlphabet is the set of symbols a code is drawn from unless a CodeSpec
// names another: digits and upper-case letters without the look-alikes 0/O and
// 1/I/L, and a single letter case because WooCommerce lowercases codes.
const DefaultAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// DefaultCodePattern is the pattern used when a CodeSpec sets neither Pattern
// nor Length: 12 random symbols, about 59 bits with DefaultAlphabet.
const DefaultCodePattern = "XXXX-XXXX-XXXX"

// DefaultCapacityBits is the default safety margin of CheckCapacity: the code
// space must be at least 2^40 times larger than the number of codes issued.
const DefaultCapacityBits = 40

// Limits on a code's shape. WooCommerce stores codes as post titles, which
// take far more, but a code is typed by a person at checkout.
const (
	maxPrefixLen = 32
	maxCodeLen   = 64
)

// CodeSpec describes the shape of the codes of a campaign: a literal Prefix
// followed by either a Pattern, where every X is a random symbol and every
// other character is copied as is, or Length random symbols in groups of
// GroupSize joined by '-'. Alphabet defaults to DefaultAlphabet.
//
// WooCommerce lowercases codes, so the letter case of the prefix and of the
// literals does not change a code's identity (see CodeKey).
type CodeSpec struct {
	// Prefix is copied to the front of every code, such as "WELCOME-".
	Prefix string `yaml:"prefix" json:"prefix,omitempty"`
	// Pattern is the layout of the rest of the code, such as "XXXX-XXXX-XXXX".
	// Literals may be ASCII letters other than X, digits, '-' and '_'.
	Pattern string `yaml:"pattern" json:"pattern,omitempty"`
	// Length is the number of random symbols when Pattern is empty.
	Length int `yaml:"length" json:"length,omitempty"`
	// GroupSize splits Length symbols into groups joined by '-'; 0 means one group.
	GroupSize int `yaml:"group_size" json:"group_size,omitempty"`
	// Alphabet is the set of random symbols: unique ASCII letters and digits,
	// at least two, no two that differ only in case.
	Alphabet string `yaml:"alphabet" json:"alphabet,omitempty"`
}

// FieldError is a validation error of one configuration field. Field is the
// dotted key path as written in the configuration ("coupon.amount"), so that a
// config loader can point at the file and line.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// codeLayout is a parsed CodeSpec: the full code with placeholder bytes and
// the positions the generator fills with random symbols.
type codeLayout struct {
	template []byte // prefix + pattern; slot bytes are overwritten
	slots    []int  // indexes into template of the random symbols
	alphabet []byte
}

// Validate reports whether the spec describes usable codes. All problems are
// reported at once, each as a *FieldError under "codes." joined with errors.Join.
func (s CodeSpec) Validate() error {
	_, err := s.parse()
	return err
}

// Layout returns the full shape of a code, prefix included, with X for every
// random symbol ("WELCOME-XXXX-XXXX-XXXX"). It is empty when the spec is invalid.
func (s CodeSpec) Layout() string {
	l, err := s.parse()
	if err != nil {
		return ""
	}
	b := append([]byte(nil), l.template...)
	for _, i := range l.slots {
		b[i] = 'X'
	}
	return string(b)
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isCodeLiteral(c byte) bool { return isASCIIAlnum(c) || c == '-' || c == '_' }

// describeCodeByte names a byte for an error message.
func describeCodeByte(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("control character %#02x", c)
	case c >= 0x80:
		return "a non-ASCII character"
	}
	return strconv.QuoteRune(rune(c))
}

// parse validates the spec and compiles it into a layout.
func (s CodeSpec) parse() (*codeLayout, error) {
	var errs []error
	l := &codeLayout{}

	// Prefix: only characters that WooCommerce keeps as they are (it decodes
	// HTML entities, strips tags, trims and lowercases); anything else would
	// make the stored code differ from the emailed one.
	if len(s.Prefix) > maxPrefixLen {
		errs = append(errs, fieldErr("codes.prefix", "%d characters, at most %d", len(s.Prefix), maxPrefixLen))
	}
	for i := 0; i < len(s.Prefix); i++ {
		if c := s.Prefix[i]; !isCodeLiteral(c) {
			errs = append(errs, fieldErr("codes.prefix", "%q contains %s at position %d; use ASCII letters, digits, '-' and '_' (WooCommerce would strip or rewrite other characters)", s.Prefix, describeCodeByte(c), i+1))
			break
		}
	}
	l.template = append(l.template, s.Prefix...)

	// Alphabet.
	alphabet := s.Alphabet
	if alphabet == "" {
		alphabet = DefaultAlphabet
	}
	alphaOK := true
	seen := map[byte]int{}
	for i := 0; i < len(alphabet); i++ {
		c := alphabet[i]
		if !isASCIIAlnum(c) {
			errs = append(errs, fieldErr("codes.alphabet", "contains %s; use ASCII letters and digits", describeCodeByte(c)))
			alphaOK = false
			break
		}
		folded := c
		if c >= 'a' && c <= 'z' {
			folded = c - 'a' + 'A'
		}
		if j, dup := seen[folded]; dup {
			if alphabet[j] == c {
				errs = append(errs, fieldErr("codes.alphabet", "symbol %q appears twice", c))
			} else {
				errs = append(errs, fieldErr("codes.alphabet", "%q and %q differ only in case, and WooCommerce lowercases codes", alphabet[j], c))
			}
			alphaOK = false
			break
		}
		seen[folded] = i
	}
	if alphaOK && len(alphabet) < 2 {
		errs = append(errs, fieldErr("codes.alphabet", "needs at least 2 symbols, has %d", len(alphabet)))
		alphaOK = false
	}
	if alphaOK {
		l.alphabet = []byte(alphabet)
	}

	// Pattern or Length + GroupSize.
	switch {
	case s.Pattern != "" && (s.Length != 0 || s.GroupSize != 0):
		errs = append(errs, fieldErr("codes.pattern", "set either pattern or length (with group_size), not both"))
	case s.Pattern == "" && s.Length == 0 && s.GroupSize != 0:
		errs = append(errs, fieldErr("codes.group_size", "needs length"))
	case s.Length < 0:
		errs = append(errs, fieldErr("codes.length", "must be positive, is %d", s.Length))
	case s.GroupSize < 0:
		errs = append(errs, fieldErr("codes.group_size", "must be 0 (no groups) or positive, is %d", s.GroupSize))
	case s.Length > maxCodeLen:
		errs = append(errs, fieldErr("codes.length", "%d symbols, at most %d", s.Length, maxCodeLen))
	case s.Length > 0:
		for i := 0; i < s.Length; i++ {
			if i > 0 && s.GroupSize > 0 && i%s.GroupSize == 0 {
				l.template = append(l.template, '-')
			}
			l.slots = append(l.slots, len(l.template))
			l.template = append(l.template, 'X')
		}
	default:
		pattern := s.Pattern
		if pattern == "" {
			pattern = DefaultCodePattern
		}
		if err := l.parsePattern(pattern); err != nil {
			errs = append(errs, err)
		}
	}
	if len(l.template) > maxCodeLen {
		errs = append(errs, fieldErr("codes", "codes would be %d characters long (prefix included), at most %d", len(l.template), maxCodeLen))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// parsePattern appends pattern to the layout: X is a random symbol, letters,
// digits, '-' and '_' are literals. A lowercase x is refused because it reads
// like a placeholder but would be a literal.
func (l *codeLayout) parsePattern(pattern string) error {
	if len(pattern) > maxCodeLen {
		return fieldErr("codes.pattern", "%d characters, at most %d", len(pattern), maxCodeLen)
	}
	n := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == 'X':
			l.slots = append(l.slots, len(l.template))
			n++
		case c == 'x':
			return fieldErr("codes.pattern", "%q has a lowercase x at position %d; write X for a random symbol", pattern, i+1)
		case !isCodeLiteral(c):
			return fieldErr("codes.pattern", "%q contains %s at position %d; literals may be ASCII letters, digits, '-' and '_'", pattern, describeCodeByte(c), i+1)
		}
		l.template = append(l.template, c)
	}
	if n == 0 {
		return fieldErr("codes.pattern", "%q has no X: codes would not be random", pattern)
	}
	return nil
}

// CodeGenerator draws random codes of one CodeSpec. It is safe for concurrent
// use. It does not remember what it produced: uniqueness is the ledger's job,
// and with the space checked by CheckCapacity repeats are rare.
type CodeGenerator struct {
	spec   CodeSpec
	layout *codeLayout
	bits   float64

	mu    sync.Mutex
	rand  io.Reader
	buf   []byte
	pos   int
	limit int // bytes >= limit are rejected, so that b % len(alphabet) is uniform
}

// randBufSize is how many random bytes are read at once: one read serves
// about 300 codes of 12 symbols.
const randBufSize = 4096

// maxRejectRun is how many consecutive rejected random bytes mean a broken
// source: with a working one the chance is below (25/256)^64 ≈ 2^-214.
const maxRejectRun = 64

// NewCodeGenerator validates spec and returns a generator reading randomness
// from random, or from crypto/rand when random is nil. Tests pass a deterministic reader.
func NewCodeGenerator(spec CodeSpec, random io.Reader) (*CodeGenerator, error) {
	l, err := spec.parse()
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = cryptoReader{}
	}
	n := len(l.alphabet)
	return &CodeGenerator{
		spec:   spec,
		layout: l,
		bits:   float64(len(l.slots)) * math.Log2(float64(n)),
		rand:   random,
		buf:    make([]byte, randBufSize),
		pos:    randBufSize,
		limit:  256 - 256%n,
	}, nil
}

// cryptoReader reads from crypto/rand at call time, so that a generator
// never holds on to a package variable.
type cryptoReader struct{}

func (cryptoReader) Read(p []byte) (int, error) { return rand.Read(p) }

// Spec returns the spec the generator was made from.
func (g *CodeGenerator) Spec() CodeSpec { return g.spec }

// Layout returns the full shape of a code with X for every random symbol.
func (g *CodeGenerator) Layout() string { return g.spec.Layout() }

// Next returns a new random code. Every random symbol is drawn uniformly from
// the alphabet by rejection sampling, so no symbol is more likely than another.
// An error means the random source failed; no code is returned then.
func (g *CodeGenerator) Next() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var buf [maxCodeLen]byte // on the stack: the only allocation is the string
	code := buf[:len(g.layout.template)]
	copy(code, g.layout.template)
	n := byte(len(g.layout.alphabet))
	for _, i := range g.layout.slots {
		rejected := 0
		for {
			if g.pos == len(g.buf) {
				if _, err := io.ReadFull(g.rand, g.buf); err != nil {
					g.pos = len(g.buf)
					return "", fmt.Errorf("reading random bytes for a code: %w", err)
				}
				g.pos = 0
			}
			b := g.buf[g.pos]
			g.pos++
			if int(b) < g.limit {
				code[i] = g.layout.alphabet[b%n]
				break
			}
			if rejected++; rejected >= maxRejectRun {
				return "", errors.New("random source is broken: it keeps returning the same few byte values")
			}
		}
	}
	return string(code), nil
}

// Bits returns the entropy of one code in bits: the number of random symbols
// times log2 of the alphabet size. Prefix and literals add nothing.
func (g *CodeGenerator) Bits() float64 { return g.bits }

// SpaceSize returns the number of distinct codes the spec can produce. It is
// a float64 because it easily exceeds 2^64; it stays finite for every valid spec.
func (g *CodeGenerator) SpaceSize() float64 { return math.Exp2(g.bits) }

// CheckCapacity refuses a spec whose code space is too small for n codes: the
// space must hold at least 2^minRatioBits times n codes, so that guessing and
// accidental repeats stay negligible. minRatioBits <= 0 means DefaultCapacityBits.
// The error says how many bits the spec has, how many are needed, and how many
// more symbols the pattern needs.
func (g *CodeGenerator) CheckCapacity(n int, minRatioBits float64) error {
	if minRatioBits <= 0 {
		minRatioBits = DefaultCapacityBits
	}
	need := minRatioBits
	if n > 1 {
		need += math.Log2(float64(n))
	}
	if g.bits >= need {
		return nil
	}
	perSymbol := math.Log2(float64(len(g.layout.alphabet)))
	more := int(math.Ceil((need - g.bits) / perSymbol))
	return fmt.Errorf("code space too small: %q has %.1f bits of entropy (%d random symbols from an alphabet of %d), "+
		"but %d codes need %.1f bits (2^%g times more codes than issued); add at least %d more X to the pattern, e.g. %q",
		g.Layout(), g.bits, len(g.layout.slots), len(g.layout.alphabet), n, need, minRatioBits, more, g.suggestLonger(more))
}

// suggestLonger returns the spec's layout with more random symbols, as an
// example for an error message.
func (g *CodeGenerator) suggestLonger(more int) string {
	layout := g.Layout()
	if g.spec.Length > 0 && g.spec.GroupSize == 0 || more <= 0 {
		return layout + strings.Repeat("X", max(more, 0))
	}
	group := g.spec.GroupSize
	if group == 0 {
		group = 4
	}
	var b strings.Builder
	b.WriteString(layout)
	for i := 0; i < more; i++ {
		if i%group == 0 {
			b.WriteByte('-')
		}
		b.WriteByte('X')
	}
	return b.String()
}

// GuessProbability returns the chance that one random guess of a code of this
// spec hits any of live codes in the store.
func (g *CodeGenerator) GuessProbability(live int) float64 {
	if live <= 0 {
		return 0
	}
	return math.Min(1, float64(live)/g.SpaceSize())
}

// Strength describes the spec's strength for a person: entropy in bits and the
// odds that one random guess hits one of live codes, such as
// "59.5 bits per code; one random guess hits one of 10,000 live codes with odds of 1 in 78.8 trillion"
// for the default pattern.
func (g *CodeGenerator) Strength(live int) string {
	s := fmt.Sprintf("%.1f bits per code", g.bits)
	if live <= 0 {
		return s
	}
	return fmt.Sprintf("%s; one random guess hits one of %s live codes with odds of %s",
		s, commaSeparated(int64(live)), FormatOdds(g.GuessProbability(live)))
}

// FormatOdds writes probability p as "1 in X" with X in words for large numbers
// ("1 in 81 billion"), or in powers of ten beyond quintillions ("1 in 3.2e+24").
func FormatOdds(p float64) string {
	switch {
	case p <= 0 || math.IsNaN(p):
		return "none"
	case p >= 1:
		return "1 in 1"
	}
	x := 1 / p
	names := []struct {
		v    float64
		name string
	}{{1e18, "quintillion"}, {1e15, "quadrillion"}, {1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}}
	if x >= 1e21 {
		return fmt.Sprintf("1 in %.1e", x)
	}
	for _, n := range names {
		// The tolerance keeps 999.9999… quadrillion from floating-point
		// division as "1 quintillion".
		if x >= n.v*(1-1e-9) {
			return "1 in " + threeDigits(x/n.v) + " " + n.name
		}
	}
	return "1 in " + commaSeparated(int64(math.Round(x)))
}

// threeDigits writes v, in [1, 1000), rounded to three significant digits
// without trailing zeros: 8.128 → "8.13", 81.0 → "81", 812.8 → "813".
func threeDigits(v float64) string {
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// commaSeparated writes n with comma thousands separators.
func commaSeparated(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// CodeKey returns the identity of a code as WooCommerce sees it: lowercased.
// Compare and index codes by CodeKey, never by the string as generated.
func CodeKey(code string) string { return strings.ToLower(code) }
