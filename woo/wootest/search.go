package wootest

import (
	"regexp"
	"slices"
	"strings"
)

// searchTerm is one term of a WordPress search: a substring that must be in
// the title, excerpt or content, or, excluded, in none of them.
type searchTerm struct {
	text    string // lowercased
	exclude bool
}

// searchTermRE is WP_Query::parse_search's term pattern: a quoted phrase, or
// a run of characters other than tab, space, quote, comma and plus.
var searchTermRE = regexp.MustCompile(`".*?("|$)|[^\t ",+]+`)

// searchStopwords are WordPress's default search stopwords
// (get_search_stopwords).
var searchStopwords = strings.Split("about,an,are,as,at,be,by,com,for,from,how,in,is,it,of,on,or,that,the,this,to,was,what,when,where,who,will,with,www", ",")

var singleLetterRE = regexp.MustCompile(`(?i)^[a-z-]$`)

// parseSearch splits a search string the way WP_Query::parse_search does:
// terms are split on tabs, spaces, quotes, commas and plus signs (a quoted
// phrase stays whole); single letters, a lone dash and stopwords are
// dropped; when nothing is left, or more than 9 terms, the whole string is
// one term. A term starting with "-" excludes. Every term must match
// (AND), each in any of the searched columns.
func parseSearch(s string) []searchTerm {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if s == "" {
		return nil
	}
	var words []string
	for _, m := range searchTermRE.FindAllString(s, -1) {
		if len(m) >= 2 && strings.HasPrefix(m, `"`) && strings.HasSuffix(m, `"`) {
			m = strings.Trim(m, `"'`)
		} else {
			m = strings.Trim(m, `"' `)
		}
		if m == "" || singleLetterRE.MatchString(m) || slices.Contains(searchStopwords, strings.ToLower(m)) {
			continue
		}
		words = append(words, m)
	}
	if len(words) == 0 || len(words) > 9 {
		words = []string{s}
	}
	terms := make([]searchTerm, 0, len(words))
	for _, w := range words {
		t := searchTerm{text: strings.ToLower(w)}
		if strings.HasPrefix(t.text, "-") {
			t.exclude, t.text = true, t.text[1:]
		}
		terms = append(terms, t)
	}
	return terms
}

// matchSearch reports whether an item whose searched columns are fields
// (a coupon: its code, the post title, and its description, the excerpt)
// matches every term, as the LIKE '%term%' clauses of WordPress do
// (case-insensitive).
func matchSearch(terms []searchTerm, fields ...string) bool {
	for _, t := range terms {
		found := false
		for _, f := range fields {
			if strings.Contains(strings.ToLower(f), t.text) {
				found = true
				break
			}
		}
		if found == t.exclude {
			return false
		}
	}
	return true
}
