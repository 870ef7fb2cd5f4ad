package campaign

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ColumnRole is what a column of a recipient list is used for.
type ColumnRole int

// The roles a column can take. A full-name column gives the first and the
// last name, split at the first space, wherever the list has no column of
// their own for them (or leaves it empty in a row).
const (
	ColumnField     ColumnRole = iota // a template field, by its lower_snake name
	ColumnEmail                       // the recipient's address
	ColumnFirstName                   // the first name
	ColumnLastName                    // the last name
	ColumnFullName                    // a full name, split in two
	ColumnIgnored                     // an unnamed column: kept only in rejects
)

// ColumnUse says what one column of a recipient list became.
type ColumnUse struct {
	// Header is the column's name as written in the file, trimmed.
	Header string
	Role   ColumnRole
	// Field is the template field name (lower_snake) of a ColumnField.
	Field string
	// Derives says, for a ColumnFullName, which names it gives: "first and
	// last name" when the list has neither, else only the missing one.
	Derives string
}

// String describes the use for a person checking the mapping:
// `"Vorname" → first name`, `"Name" → first and last name (split)`.
func (u ColumnUse) String() string {
	var what string
	switch u.Role {
	case ColumnEmail:
		what = "email"
	case ColumnFirstName:
		what = "first name"
	case ColumnLastName:
		what = "last name"
	case ColumnFullName:
		what = u.Derives + " (split)"
	case ColumnIgnored:
		what = "ignored (no name)"
	default:
		what = "field " + u.Field
	}
	return strconv.Quote(u.Header) + " → " + what
}

// columnAlias is a header that means a role. Where a list has several
// columns for one role, the lowest rank wins and the others stay template
// fields: an explicit first_name beats billing_first_name, which beats
// shipping_first_name. Two columns of the same rank are ambiguous.
type columnAlias struct {
	role ColumnRole
	rank int
}

// columnAliases maps a folded header (foldHeader) to what it means. They
// are what spreadsheets, CRMs and shop exports write in English, German,
// French, Spanish, Indonesian and Dutch, WooCommerce's customer exports
// (billing_*/shipping_* fields and their "Billing First Name" labels,
// WordPress's user_email) and WooCommerce Analytics' customer report,
// whose only name column is "Name", a full name.
var columnAliases = buildColumnAliases(columnAliasTable)

// columnAliasEntry is one line of columnAliasTable.
type columnAliasEntry struct {
	role    ColumnRole
	rank    int
	headers []string
}

// columnAliasTable lists the aliases by role, rank and language.
var columnAliasTable = []columnAliasEntry{
	{ColumnEmail, 0, []string{
		"email", "email address", "mail", "mail address", // en
		"E-Mail-Adresse", "Mailadresse", // de
		"Courriel", "Adresse e-mail", "Adresse mail", "Adresse électronique", "Adresse courriel", // fr
		"Correo", "Correo electrónico", "Dirección de correo", "Dirección de correo electrónico", "Dirección de email", // es
		"Surel", "Alamat email", "Alamat surel", // id
		"E-mailadres", "Mailadres", // nl
	}},
	{ColumnEmail, 1, []string{"user_email", "customer_email", "billing_email", "Billing E-mail address"}},
	{ColumnFirstName, 0, []string{
		"first_name", "given name", "forename", // en
		"Vorname",                  // de
		"Prénom",                   // fr
		"Nombre", "Nombre de pila", // es
		"Nama depan",           // id
		"Voornaam", "Roepnaam", // nl
	}},
	{ColumnFirstName, 1, []string{"billing_first_name", "customer_first_name"}},
	{ColumnFirstName, 2, []string{"shipping_first_name"}},
	{ColumnLastName, 0, []string{
		"last_name", "surname", "family name", // en
		"Nachname", "Familienname", "Zuname", // de
		"Nom", "Nom de famille", // fr
		"Apellido", "Apellidos", // es
		"Nama belakang", "Nama keluarga", // id
		"Achternaam", "Familienaam", // nl
	}},
	{ColumnLastName, 1, []string{"billing_last_name", "customer_last_name"}},
	{ColumnLastName, 2, []string{"shipping_last_name"}},
	{ColumnFullName, 0, []string{
		"name", "full name", // en, WooCommerce Analytics' customer report
		"Vollständiger Name",   // de (and "Name")
		"Nom complet",          // fr
		"Nombre completo",      // es
		"Nama", "Nama lengkap", // id
		"Naam", "Volledige naam", // nl
	}},
	{ColumnFullName, 1, []string{"customer_name", "billing_full_name", "display_name"}},
}

// buildColumnAliases indexes table by folded header; a header listed
// twice keeps its first entry (TestColumnAliasesAreListedOnce keeps the
// table clean).
func buildColumnAliases(table []columnAliasEntry) map[string]columnAlias {
	m := make(map[string]columnAlias)
	for _, e := range table {
		for _, h := range e.headers {
			k := foldHeader(h)
			if _, dup := m[k]; !dup {
				m[k] = columnAlias{e.role, e.rank}
			}
		}
	}
	return m
}

// foldHeader is the key a header is matched by: lowercased, accents
// dropped, and only letters and digits kept, so that "E-Mail", "e_mail"
// and "EMAIL" match, and "Prénom" matches "prenom".
func foldHeader(h string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(h)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roleName is how a role is named in header errors.
func roleName(r ColumnRole) string {
	switch r {
	case ColumnEmail:
		return "email"
	case ColumnFirstName:
		return "first_name"
	case ColumnLastName:
		return "last_name"
	case ColumnFullName:
		return "full name"
	}
	return ""
}

// splitFullName splits a cleaned full name in two at its first space. A
// first or last name the row has of its own (first, last: explicit
// columns win) is kept, and the full name gives only the other: what
// remains of it around the one given ("Anna Maria Müller" after "Anna
// Maria"), or all of it when it does not contain the one given (a German
// "Name" column next to "Vorname" often holds the surname alone).
func splitFullName(full, first, last string) (string, string) {
	switch {
	case first != "" && last != "":
		return first, last
	case first != "":
		if rest, ok := strings.CutPrefix(full, first); ok && (rest == "" || startsWithSpace(rest)) {
			return first, strings.TrimSpace(rest)
		}
		return first, full
	case last != "":
		if rest, ok := strings.CutSuffix(full, last); ok && (rest == "" || endsWithSpace(rest)) {
			return strings.TrimSpace(rest), last
		}
	}
	i := strings.IndexFunc(full, unicode.IsSpace)
	if i < 0 {
		return full, last
	}
	f, l := full[:i], strings.TrimSpace(full[i:])
	if last != "" {
		l = last
	}
	return f, l
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

func endsWithSpace(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsSpace(r)
}
