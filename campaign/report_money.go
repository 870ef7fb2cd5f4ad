package campaign

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// moneyScale is the number of decimal places sums are kept exactly to. Stores
// round prices to at most 4 decimals (WooCommerce's "number of decimals"
// setting); amounts with more are rounded half away from zero.
const moneyScale = 4

// Money is an amount of money in units of 10^-4 of the store's currency, so
// that revenue and discount sums are exact (float64 sums of "19.99" are not).
type Money int64

// ParseMoney reads a decimal amount as WooCommerce writes it ("12.50", "-3",
// "0.3333", "" for nothing).
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("amount %q: not a decimal number", s)
	}
	for _, part := range []string{intPart, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("amount %q: not a decimal number", s)
			}
		}
	}
	if len(intPart) > 14 {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	var whole int64
	if intPart != "" {
		whole, _ = strconv.ParseInt(intPart, 10, 64)
	}
	v := whole * pow10(moneyScale)
	roundUp := false
	for i := 0; i < len(frac); i++ {
		d := int64(frac[i] - '0')
		if i < moneyScale {
			v += d * pow10(moneyScale-1-i)
		} else if i == moneyScale {
			roundUp = d >= 5
		}
	}
	if roundUp {
		v++
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}

// String formats m with two decimals, or more when the amount needs them
// ("12.50", "0.3333", "-3.00").
func (m Money) String() string {
	v := int64(m)
	sign := ""
	if v < 0 {
		if v == math.MinInt64 {
			return "overflow"
		}
		sign, v = "-", -v
	}
	whole, frac := v/pow10(moneyScale), v%pow10(moneyScale)
	fs := fmt.Sprintf("%0*d", moneyScale, frac)
	for len(fs) > 2 && fs[len(fs)-1] == '0' {
		fs = fs[:len(fs)-1]
	}
	return fmt.Sprintf("%s%d.%s", sign, whole, fs)
}

// MarshalText writes m as its decimal string, so JSON carries "12.50" and
// never a float.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a decimal string written by MarshalText.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
