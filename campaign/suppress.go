package campaign

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// SuppressionList is a set of addresses and domains that never get a coupon
// from a job: people who unsubscribed, staff, competitors. It is read from a
// plain text file, one entry per line:
//
//	# comments start with '#', also after an entry
//	bob@example.com
//	@example.org        every address at example.org and its subdomains
//	*@example.net       the same, in the form WooCommerce uses for wildcards
//
// Entries are matched case-insensitively.
type SuppressionList struct {
	emails  map[string]struct{}
	domains map[string]struct{}
}

// LoadSuppressionList reads the suppression file at path, a regular file
// (see OpenRegularFile). Every bad line is reported, each with the file name
// and line number.
func LoadSuppressionList(path string) (*SuppressionList, error) {
	f, err := OpenRegularFile(path)
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	defer f.Close()
	return ReadSuppressionList(f, path)
}

// maxSuppressionErrors bounds how many bad lines one error lists.
const maxSuppressionErrors = 20

// ReadSuppressionList reads a suppression list from r; name is used in
// error messages.
func ReadSuppressionList(r io.Reader, name string) (*SuppressionList, error) {
	s := &SuppressionList{emails: map[string]struct{}{}, domains: map[string]struct{}{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var errs []error
	bad := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.ToLower(strings.TrimSpace(text))
		if text == "" {
			continue
		}
		if err := s.add(text); err != nil {
			bad++
			if bad <= maxSuppressionErrors {
				errs = append(errs, fmt.Errorf("%s:%d: %q: %w", name, line, text, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if bad > maxSuppressionErrors {
		errs = append(errs, fmt.Errorf("%s: %d more bad lines", name, bad-maxSuppressionErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (s *SuppressionList) add(entry string) error {
	domain, isDomain := strings.CutPrefix(entry, "*@")
	if !isDomain {
		domain, isDomain = strings.CutPrefix(entry, "@")
	}
	if isDomain {
		domain = strings.TrimSuffix(domain, ".")
		if domain == "" || strings.ContainsAny(domain, "@ \t*") || !strings.Contains(domain, ".") ||
			strings.HasPrefix(domain, ".") || strings.Contains(domain, "..") {
			return errors.New("not a domain (write @example.com)")
		}
		s.domains[domain] = struct{}{}
		return nil
	}
	email, err := NormalizeEmail(entry)
	if err != nil {
		return fmt.Errorf("not an address or @domain: %w", err)
	}
	s.emails[email] = struct{}{}
	return nil
}

// Len returns the number of addresses and domains in the list.
func (s *SuppressionList) Len() int {
	if s == nil {
		return 0
	}
	return len(s.emails) + len(s.domains)
}

// Contains reports whether email (normalized, lower case) is suppressed:
// listed itself, or at a listed domain or a subdomain of one.
func (s *SuppressionList) Contains(email string) bool {
	if s == nil {
		return false
	}
	email = strings.ToLower(email)
	if _, ok := s.emails[email]; ok {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	for d := email[at+1:]; d != ""; {
		if _, ok := s.domains[d]; ok {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}
