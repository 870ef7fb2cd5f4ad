package mailer

import (
	"bytes"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"testing"
)

func TestMessageIDIsStablePerCampaignAndRecipient(t *testing.T) {
	a := MessageID("spring", "Ann@Example.com", "shop.example")
	if b := MessageID("spring", " ann@example.com", "shop.example"); a != b {
		t.Errorf("same campaign and recipient gave %q and %q, want equal", a, b)
	}
	if b := MessageID("summer", "ann@example.com", "shop.example"); a == b {
		t.Errorf("different campaigns gave the same ID %q", a)
	}
	if b := MessageID("spring", "bob@example.com", "shop.example"); a == b {
		t.Errorf("different recipients gave the same ID %q", a)
	}
	if !strings.HasPrefix(a, "<couponbridge.") || !strings.HasSuffix(a, "@shop.example>") || strings.Contains(a, "ann") {
		t.Errorf("MessageID = %q, want <couponbridge.HASH@shop.example> not revealing the address", a)
	}
	if got := MessageID("c", "a@b.c", "bad domain\r\n"); !strings.HasSuffix(got, "@localhost>") {
		t.Errorf("MessageID with an invalid domain = %q, want @localhost", got)
	}
	if _, err := messageIDValue(a, "x@y"); err != nil {
		t.Errorf("Build refuses MessageID's own output %q: %v", a, err)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	msg := testMessage(7, "ann@example.net")
	msg.ListUnsubscribe = []string{"mailto:u@shop.example", "https://shop.example/u"}
	msg.OneClickUnsubscribe = true
	first, err := Build(msg)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		again, err := Build(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("Build gave different bytes for the same message:\n%q\n%q", first, again)
		}
	}
}

func TestBuildRejectsInvalidMessages(t *testing.T) {
	for name, mod := range map[string]func(*Message){
		"no recipient":            func(m *Message) { m.To.Email = "" },
		"recipient with a name":   func(m *Message) { m.To.Email = "Ann <ann@example.net>" },
		"no sender":               func(m *Message) { m.From.Email = "" },
		"no body":                 func(m *Message) { m.Text, m.HTML = "", "" },
		"Message-ID without @":    func(m *Message) { m.MessageID = "<abc>" },
		"Message-ID with a space": func(m *Message) { m.MessageID = "<a b@c>" },
		"javascript unsubscribe":  func(m *Message) { m.ListUnsubscribe = []string{"javascript:alert(1)"} },
		"one-click without https": func(m *Message) {
			m.ListUnsubscribe = []string{"mailto:u@shop.example"}
			m.OneClickUnsubscribe = true
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := testMessage(1, "ann@example.net")
			mod(&m)
			if _, err := Build(m); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Build error = %v, want ErrInvalidMessage", err)
			}
		})
	}
}

func TestBuildWithOnlyOneBody(t *testing.T) {
	m := testMessage(1, "ann@example.net")
	m.HTML = ""
	b, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := mail.ReadMessage(bytes.NewReader(b))
	if ct := parsed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("text-only message has Content-Type %q, want text/plain", ct)
	}
}

// allowedHeaders are the only header fields Build may write for the test message.
var allowedHeaders = []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Message-Id", "Mime-Version", "Reply-To", "Subject", "To"}

// checkNoInjectedHeader fails unless raw has exactly the allowed header
// fields, once each, with the given envelope addresses.
func checkNoInjectedHeader(t *testing.T, raw []byte, from, to string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("built message does not parse: %v\n%q", err, raw)
	}
	var keys []string
	for k, v := range m.Header {
		keys = append(keys, k)
		if len(v) != 1 {
			t.Errorf("header %s appears %d times, want once", k, len(v))
		}
		for _, s := range v {
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("header %s value %q contains a line break", k, s)
			}
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowedHeaders, k) {
			t.Errorf("unexpected header %q in\n%s", k, raw)
		}
	}
	for _, must := range []string{"Date", "From", "Message-Id", "Subject", "To", "Content-Type", "Mime-Version"} {
		if !slices.Contains(keys, must) {
			t.Errorf("header %s missing", must)
		}
	}
	if got, err := m.Header.AddressList("To"); err != nil || len(got) != 1 || got[0].Address != to {
		t.Errorf("To = %v (%v), want exactly %s", got, err, to)
	}
	if got, err := m.Header.AddressList("From"); err != nil || len(got) != 1 || got[0].Address != from {
		t.Errorf("From = %v (%v), want exactly %s", got, err, from)
	}
}

func TestBuildNeverLetsDataAddHeaders(t *testing.T) {
	attacks := []string{
		"Ann\r\nBcc: victim@example.org",
		"Ann\nBcc: victim@example.org",
		"Ann\rBcc: victim@example.org",
		"Ann\r\n\r\n<html>body</html>",
		"\r\nX-Injected: 1",
		"Ann\u2028Bcc: victim@example.org",
		"Ann\x00\x0bBcc: x@y",
		"=?utf-8?q?Ann=0D=0ABcc:_victim@example.org?=",
		"Zoë \"the\" <admin@evil.example>, victim@example.org",
		strings.Repeat("Lo ng ", 200) + "\r\nBcc: x@y",
	}
	for _, a := range attacks {
		m := testMessage(1, "ann@example.net")
		m.To.Name, m.From.Name, m.ReplyTo.Name, m.Subject = a, a, a, a
		m.Text, m.HTML = a, a
		raw, err := Build(m)
		if err != nil {
			t.Errorf("Build(%q) failed: %v; names and subjects are cleaned, not refused", a, err)
			continue
		}
		checkNoInjectedHeader(t, raw, "shop@shop.example", "ann@example.net")
		parsed, _ := mail.ReadMessage(bytes.NewReader(raw))
		to, _ := parsed.Header.AddressList("To")
		if len(to) == 1 && strings.ContainsAny(to[0].Name, "\r\n") {
			t.Errorf("To name %q keeps a line break", to[0].Name)
		}
	}
	// Values that cannot be cleaned without changing their meaning are refused.
	for name, mod := range map[string]func(*Message, string){
		"To address":       func(m *Message, a string) { m.To.Email = "ann@example.net" + a },
		"From address":     func(m *Message, a string) { m.From.Email = "shop@shop.example" + a },
		"Reply-To address": func(m *Message, a string) { m.ReplyTo.Email = "help@shop.example" + a },
		"Message-ID":       func(m *Message, a string) { m.MessageID = "<x@shop.example>" + a },
		"unsubscribe URL":  func(m *Message, a string) { m.ListUnsubscribe = []string{"https://shop.example/u" + a} },
	} {
		for _, a := range []string{"\r\nBcc: victim@example.org", "\nBcc: victim@example.org", "\rBcc: x@y", ", victim@example.org"} {
			m := testMessage(1, "ann@example.net")
			mod(&m, a)
			if _, err := Build(m); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s with %q: Build error %v, want ErrInvalidMessage", name, a, err)
			}
		}
	}
}

func TestBuildEncodesNonASCIINames(t *testing.T) {
	m := testMessage(1, "zoe@example.net")
	m.To.Name = "Zoë Ünïcødé 日本"
	m.Subject = "Ihr Gutschein über 10 % für Zoë"
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, c := range head {
		if c >= 0x80 {
			t.Fatalf("header block contains raw non-ASCII byte %#x:\n%s", c, head)
		}
	}
	parsed, _ := mail.ReadMessage(bytes.NewReader(raw))
	to, err := parsed.Header.AddressList("To")
	if err != nil || to[0].Name != m.To.Name {
		t.Errorf("To name decodes to %v (%v), want %q", to, err, m.To.Name)
	}
	if got := decodeHeader(t, parsed.Header.Get("Subject")); got != m.Subject {
		t.Errorf("Subject decodes to %q, want %q", got, m.Subject)
	}
}

func FuzzHeaderInjection(f *testing.F) {
	f.Add("Ann", "Your coupon", "ann@example.net", "Body")
	f.Add("Ann\r\nBcc: victim@example.org", "Hi\r\nX-Injected: yes", "ann@example.net", "\r\n\r\nbody")
	f.Add("Zoë\u2028", "=?utf-8?b?SGVsbG8=?=\n", "a@b.c\r\nBcc: x@y", "--boundary")
	f.Add("\"quoted\" <x@y>", "\x00\x7f", "\"a b\"@example.net", ".\r\n.\r\n")
	f.Add(strings.Repeat("N", 2000), strings.Repeat("S", 3000)+" x", "ann@example.net", "b")
	f.Add(strings.Repeat("Zoë \"q\" ", 300), strings.Repeat("ü=?", 700), "ann@example.net", "b")
	f.Fuzz(func(t *testing.T, name, subject, to, body string) {
		m := testMessage(1, to)
		m.To.Name, m.ReplyTo.Name, m.Subject, m.Text, m.HTML = name, name, subject, body, body
		if m.Text == "" {
			m.Text = "x"
		}
		raw, err := Build(m)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Build error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		checkNoInjectedHeader(t, raw, "shop@shop.example", strings.TrimSpace(to))
		checkHeaderLines(t, raw, 998)
	})
}

// checkHeaderLines fails if a header line of raw (the message's own and
// those of its parts) is longer than max bytes without its CRLF.
func checkHeaderLines(t *testing.T, raw []byte, max int) {
	t.Helper()
	inHeader := true
	for _, line := range strings.Split(string(raw), "\r\n") {
		switch {
		case line == "":
			inHeader = false
		case strings.HasPrefix(line, "--cb-"): // a part boundary: its header follows
			inHeader = true
		case inHeader && len(line) > max:
			t.Errorf("header line of %d bytes, want at most %d: %.120q…", len(line), max, line)
		}
	}
}

func TestBuildFoldsHeadersOfATenThousandCharacterName(t *testing.T) {
	for name, first := range map[string]string{
		"ASCII":     strings.Repeat("A", 10000),
		"non-ASCII": strings.Repeat("Zoë", 3400),
		"spaced":    strings.Repeat("Ann ", 2500),
	} {
		t.Run(name, func(t *testing.T) {
			m := testMessage(1, "ann@example.net")
			m.To.Name, m.From.Name, m.ReplyTo.Name = first, first, first
			m.Subject = "Hi " + first + ", your 10% coupon"
			raw, err := Build(m)
			if err != nil {
				t.Fatal(err)
			}
			checkHeaderLines(t, raw, 998)
			parsed, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			wantName := []rune(cleanHeaderText(first))[:100]
			for _, h := range []string{"To", "From", "Reply-To"} {
				got, err := parsed.Header.AddressList(h)
				if err != nil || len(got) != 1 || got[0].Name != strings.TrimSpace(string(wantName)) {
					t.Errorf("%s = %v (%v), want the name cut to its first 100 characters", h, got, err)
				}
			}
			if got, want := decodeHeader(t, parsed.Header.Get("Subject")), cleanHeaderText(m.Subject); got != want {
				t.Errorf("Subject decodes to %.80q… (%d bytes), want the whole subject (%d bytes)", got, len(got), len(want))
			}
			// The subject, which is not cut, folds within the recommended 78.
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			_, subj, _ := strings.Cut(head, "Subject:")
			for i, line := range strings.Split(subj, "\r\n") {
				if i > 0 && !strings.HasPrefix(line, " ") {
					break
				}
				if len(line) > 78 {
					t.Errorf("Subject line of %d bytes, want at most 78: %.100q", len(line), line)
				}
			}
		})
	}
}

func TestBuildTurnsControlCharactersInNamesAndSubjectIntoSpaces(t *testing.T) {
	m := testMessage(1, "ann@example.net")
	m.To.Name = "Ann\tMarie\u0085Smith\u2029Jr\x1bX"
	m.Subject = "Your\tcoupon\u2028for\u009fAnn"
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := mail.ReadMessage(bytes.NewReader(raw))
	if to, _ := parsed.Header.AddressList("To"); len(to) != 1 || to[0].Name != "Ann Marie Smith Jr X" {
		t.Errorf("To = %v, want the name Ann Marie Smith Jr X", to)
	}
	if got := decodeHeader(t, parsed.Header.Get("Subject")); got != "Your coupon for Ann" {
		t.Errorf("Subject = %q, want %q", got, "Your coupon for Ann")
	}
}

func TestBuildRefusesValuesTooLongForAHeaderLine(t *testing.T) {
	long := strings.Repeat("a", 950)
	for name, mod := range map[string]func(*Message){
		"address":         func(m *Message) { m.To.Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 100) + "example" },
		"Message-ID":      func(m *Message) { m.MessageID = "<" + long + "@shop.example>" },
		"unsubscribe URL": func(m *Message) { m.ListUnsubscribe = []string{"https://shop.example/u?t=" + long} },
	} {
		t.Run(name, func(t *testing.T) {
			m := testMessage(1, "ann@example.net")
			mod(&m)
			if _, err := Build(m); !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), "long") {
				t.Fatalf("Build error = %v, want ErrInvalidMessage saying it is too long", err)
			}
		})
	}
}

func TestBuildRefersToEarlierMessagesInBrackets(t *testing.T) {
	m := testMessage(1, "a@example.net")
	first := m.MessageID
	m.MessageID = NewMessageID("shop.example")
	m.InReplyTo = strings.Trim(first, "<>")
	m.References = []string{"<root@shop.example>", first}
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, raw)
	if got := p.Header.Get("In-Reply-To"); got != first {
		t.Errorf("In-Reply-To %q, want %q", got, first)
	}
	if got := p.Header.Get("References"); got != "<root@shop.example> "+first {
		t.Errorf("References %q, want both IDs in order", got)
	}
	if m.MessageID == first || NewMessageID("shop.example") == m.MessageID {
		t.Error("NewMessageID repeats an ID")
	}
	m.References = []string{"no-at-sign"}
	if _, err := Build(m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("a malformed reference: %v, want ErrInvalidMessage", err)
	}
}
