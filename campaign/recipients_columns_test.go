package campaign

import (
	"reflect"
	"strings"
	"testing"
)

// readOne reads a list of one data row and returns its recipient and the
// column mapping as Columns describes it.
func readOne(t *testing.T, csv string) (Recipient, []string) {
	t.Helper()
	rr := mustReader(t, csv)
	recs, rejects := readAll(t, rr)
	if len(recs) != 1 || len(rejects) != 0 {
		t.Fatalf("want one recipient, got %+v, rejects %+v", recs, rejects)
	}
	var uses []string
	for _, u := range rr.Columns() {
		uses = append(uses, u.String())
	}
	return recs[0], uses
}

func TestRecipientHeadersAreRecognizedInEveryLanguage(t *testing.T) {
	tests := []struct {
		lang, csv   string
		first, last string
		uses        []string
	}{
		{"en", "Email Address,First Name,Last Name\na@example.com,Ann,Archer\n", "Ann", "Archer",
			[]string{`"Email Address" → email`, `"First Name" → first name`, `"Last Name" → last name`}},
		{"en surname", "FORENAME;SURNAME;E_MAIL\nAnn;Archer;a@example.com\n", "Ann", "Archer",
			[]string{`"FORENAME" → first name`, `"SURNAME" → last name`, `"E_MAIL" → email`}},
		{"de", "Vorname;Nachname;E-Mail\nAnna;Müller;a@example.com\n", "Anna", "Müller",
			[]string{`"Vorname" → first name`, `"Nachname" → last name`, `"E-Mail" → email`}},
		{"de Adresse", "E-Mail-Adresse,Vorname,Familienname\na@example.com,Anna,Müller\n", "Anna", "Müller", nil},
		{"fr", "Prénom;Nom;Courriel\nÉlodie;Dupont;a@example.com\n", "Élodie", "Dupont",
			[]string{`"Prénom" → first name`, `"Nom" → last name`, `"Courriel" → email`}},
		{"fr unaccented, E-mail", "PRENOM,NOM DE FAMILLE,E-mail\nElodie,Dupont,a@example.com\n", "Elodie", "Dupont", nil},
		{"fr adresse", "Adresse électronique,Prénom\na@example.com,Élodie\n", "Élodie", "", nil},
		{"es", "Nombre,Apellidos,Correo electrónico\nLucía,García López,a@example.com\n", "Lucía", "García López",
			[]string{`"Nombre" → first name`, `"Apellidos" → last name`, `"Correo electrónico" → email`}},
		{"es singular", "nombre;apellido;correo_electronico\nLucía;García;a@example.com\n", "Lucía", "García", nil},
		{"id", "Nama depan,Nama belakang,Surel\nSiti,Rahayu,a@example.com\n", "Siti", "Rahayu",
			[]string{`"Nama depan" → first name`, `"Nama belakang" → last name`, `"Surel" → email`}},
		{"id email", "Nama Depan,Nama Belakang,Email\nSiti,Rahayu,a@example.com\n", "Siti", "Rahayu", nil},
		{"nl", "Voornaam;Achternaam;E-mailadres\nJan;de Vries;a@example.com\n", "Jan", "de Vries",
			[]string{`"Voornaam" → first name`, `"Achternaam" → last name`, `"E-mailadres" → email`}},
		{"WooCommerce customer export", "customer_id,first_name,last_name,email,billing_first_name,billing_last_name,billing_email\n7,Ann,Archer,a@example.com,Annie,Archer-Smith,billing@example.com\n", "Ann", "Archer",
			[]string{`"customer_id" → field customer_id`, `"first_name" → first name`, `"last_name" → last name`, `"email" → email`,
				`"billing_first_name" → field billing_first_name`, `"billing_last_name" → field billing_last_name`, `"billing_email" → field billing_email`}},
		{"WooCommerce billing labels only", "Billing First Name,Billing Last Name,Billing Email,Shipping First Name\nAnn,Archer,a@example.com,Bob\n", "Ann", "Archer",
			[]string{`"Billing First Name" → first name`, `"Billing Last Name" → last name`, `"Billing Email" → email`, `"Shipping First Name" → field shipping_first_name`}},
		{"WordPress users export", "user_login,user_email,first_name,last_name,display_name\nann,a@example.com,Ann,Archer,Ann A.\n", "Ann", "Archer",
			[]string{`"user_login" → field user_login`, `"user_email" → email`, `"first_name" → first name`, `"last_name" → last name`, `"display_name" → field display_name`}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			rcp, uses := readOne(t, tt.csv)
			if rcp.Email != "a@example.com" || rcp.FirstName != tt.first || rcp.LastName != tt.last {
				t.Errorf("got email %q, first %q, last %q; want a@example.com, %q, %q", rcp.Email, rcp.FirstName, rcp.LastName, tt.first, tt.last)
			}
			if tt.uses != nil && !reflect.DeepEqual(uses, tt.uses) {
				t.Errorf("Columns:\n got %q\nwant %q", uses, tt.uses)
			}
		})
	}
}

func TestRecipientFullNameColumnIsSplitAtTheFirstSpace(t *testing.T) {
	// WooCommerce Analytics > Customers > Download, as the store writes it.
	const csv = `"Name","Username","Last active","Date registered","Email","Orders","Total spend","AOV","Country / Region","City","Region","Postal code"
"Anna Maria Müller","anna","2026-11-30 10:00:00","2025-01-02 09:00:00","a@example.com","3","120.00","40.00","DE","Berlin","BE","10115"
"Cher","cher","","","b@example.com","0","0.00","0.00","","","",""
"  Jan   de Vries ","jan","","","c@example.com","1","9.00","9.00","NL","","",""
`
	rr := mustReader(t, csv)
	if got := rr.Columns()[0].String(); got != `"Name" → first and last name (split)` {
		t.Errorf("Columns()[0] = %s", got)
	}
	if got, want := rr.Fields(), []string{"username", "last_active", "date_registered", "orders", "total_spend", "aov", "country_region", "city", "region", "postal_code"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields() = %q, want %q", got, want)
	}
	recs, _ := readAll(t, rr)
	want := [][2]string{{"Anna", "Maria Müller"}, {"Cher", ""}, {"Jan", "de Vries"}}
	if len(recs) != len(want) {
		t.Fatalf("want %d recipients, got %+v", len(want), recs)
	}
	for i, w := range want {
		if recs[i].FirstName != w[0] || recs[i].LastName != w[1] {
			t.Errorf("line %d: got %q / %q, want %q / %q", recs[i].Line, recs[i].FirstName, recs[i].LastName, w[0], w[1])
		}
	}
}

func TestRecipientExplicitFirstNameWinsOverFullNameSplit(t *testing.T) {
	// A German form: "Name" is the surname, or the full name.
	const csv = "E-Mail;Vorname;Name\n" +
		"a@example.com;Anna;Müller\n" + // the surname alone
		"b@example.com;Anna Maria;Anna Maria Schmidt\n" + // the full name, starting with the first name
		"c@example.com;Jan;van Dijk\n" + // a surname with a space is not split
		"d@example.com;;Bernd Braun\n" // no first name in the row: the split gives it
	rr := mustReader(t, csv)
	var uses []string
	for _, u := range rr.Columns() {
		uses = append(uses, u.String())
	}
	if want := []string{`"E-Mail" → email`, `"Vorname" → first name`, `"Name" → last name (split)`}; !reflect.DeepEqual(uses, want) {
		t.Errorf("Columns:\n got %q\nwant %q", uses, want)
	}
	recs, _ := readAll(t, rr)
	want := [][2]string{{"Anna", "Müller"}, {"Anna Maria", "Schmidt"}, {"Jan", "van Dijk"}, {"Bernd", "Braun"}}
	for i, w := range want {
		if recs[i].FirstName != w[0] || recs[i].LastName != w[1] {
			t.Errorf("line %d: got %q / %q, want %q / %q", recs[i].Line, recs[i].FirstName, recs[i].LastName, w[0], w[1])
		}
	}
}

func TestRecipientFullNameGivesTheFirstNameBesideALastNameColumn(t *testing.T) {
	rcp, uses := readOne(t, "Naam,Achternaam,Email\nJan de Vries,de Vries,a@example.com\n")
	if rcp.FirstName != "Jan" || rcp.LastName != "de Vries" {
		t.Errorf("got %q / %q, want Jan / de Vries", rcp.FirstName, rcp.LastName)
	}
	if uses[0] != `"Naam" → first name (split)` {
		t.Errorf("Columns()[0] = %s", uses[0])
	}
}

func TestRecipientFullNameIsAFieldWhenBothNamesHaveColumns(t *testing.T) {
	rcp, uses := readOne(t, "email,first_name,last_name,name\na@example.com,Ann,Archer,Team Archer\n")
	if rcp.FirstName != "Ann" || rcp.LastName != "Archer" || rcp.Fields["name"] != "Team Archer" {
		t.Errorf("got %+v", rcp)
	}
	if uses[3] != `"name" → field name` {
		t.Errorf("Columns()[3] = %s", uses[3])
	}
}

func TestRecipientTwoHeadersForOneNameAreAmbiguous(t *testing.T) {
	for _, header := range []string{"email,Vorname,Prénom", "email,Nachname,Surname", "Courriel,Surel", "email,Name,Full Name"} {
		_, err := NewRecipientReader(strings.NewReader(header+"\n"), "list.csv")
		if err == nil || !strings.Contains(err.Error(), "list.csv line 1: columns 2") && !strings.Contains(err.Error(), "list.csv line 1: columns 1") || !strings.Contains(err.Error(), "both mean") {
			t.Errorf("%s: want a 'both mean' error naming the columns, got %v", header, err)
		}
	}
}

func TestColumnAliasesAreListedOnce(t *testing.T) {
	seen := map[string]string{}
	for _, e := range columnAliasTable {
		for _, h := range e.headers {
			k := foldHeader(h)
			if prev, dup := seen[k]; dup {
				t.Errorf("%q and %q are the same header (%q)", prev, h, k)
			}
			seen[k] = h
		}
	}
}

func TestFoldHeaderIgnoresCaseAccentsAndSeparators(t *testing.T) {
	for in, want := range map[string]string{
		"E-Mail": "email", " e_mail ": "email", "Prénom": "prenom", "Correo electrónico": "correoelectronico",
		"Nama  Depan": "namadepan", "VOLLSTÄNDIGER NAME": "vollstandigername", "E-mailadres": "emailadres",
	} {
		if got := foldHeader(in); got != want {
			t.Errorf("foldHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
