package mailer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// Address is a mailbox: an optional display name and an email address.
type Address struct {
	Name  string
	Email string
}

// Message is one email ready to be built and delivered.
//
// Names and Subject may come from untrusted data: control characters in them
// (CR, LF, TAB, other C0 and C1 controls, U+2028, U+2029) are replaced by
// spaces, display names are cut to 100 characters, and a long subject is
// folded. Email addresses, MessageID and ListUnsubscribe URLs containing
// control characters, or too long for a header line, are rejected by [Build].
type Message struct {
	// Key is the caller's identifier for the message, echoed in its Result
	// and used for the Outbox file name when MessageID is empty.
	Key     string
	From    Address
	ReplyTo *Address
	To      Address
	Subject string
	// Text and HTML are the two alternative bodies; at least one is required.
	Text, HTML string
	// MessageID is the Message-ID header, with or without angle brackets
	// (see [MessageID]); empty means a random one.
	MessageID string
	// InReplyTo and References name earlier messages this one follows (RFC
	// 5322 3.6.4), each a Message-ID with or without angle brackets: a
	// resend refers to the message it repeats, so that mail systems thread
	// it instead of dropping it as a duplicate of a Message-ID they saw.
	InReplyTo  string
	References []string
	// Date is the Date header; zero means the time of building.
	Date time.Time
	// ListUnsubscribe holds mailto:, https: or http: URLs for the
	// List-Unsubscribe header.
	ListUnsubscribe []string
	// OneClickUnsubscribe adds List-Unsubscribe-Post: List-Unsubscribe=One-Click
	// (RFC 8058); it requires an https URL in ListUnsubscribe.
	OneClickUnsubscribe bool
	// Prepare, when set, is called right before each attempt that may hand
	// the message over (before MAIL FROM on SMTP, before the file is
	// written in the outbox), after every wait for a rate, a cap or a
	// connection: once per attempt, not once per message. If it returns an
	// error the message is not sent and is reported as a TempFailure
	// carrying that error. Callers use it to record "handing over now" as
	// late as possible, so that a crash can leave in doubt only the
	// messages really in flight. It may be called from several goroutines
	// at once (one per connection), but never twice at once for one message.
	Prepare func() error
	// Released, when set, is called after an attempt that certainly did not
	// hand the message over (a server reply of 400 or more to MAIL, RCPT or
	// DATA, or a connection that broke before the final "." of DATA was
	// written) when the sender will try again, before it waits out the
	// backoff: the caller can record "no longer in flight", so that a crash
	// during the wait leaves nothing in doubt. Prepare is called again
	// before the next attempt. Released is not called after the last
	// attempt (that one is reported as TempFailure or PermFailure), nor for
	// OutcomeUnknown or Delivered. Like Prepare it may be called from
	// several goroutines at once, never twice at once for one message.
	Released func()
}

// Status is the outcome class of one delivery.
type Status int

const (
	// Delivered means the server (or the outbox folder) accepted the message.
	Delivered Status = iota + 1
	// TempFailure means the message was not delivered but a later attempt may
	// succeed (4xx reply, broken connection, cap reached, cancelled run).
	TempFailure
	// PermFailure means the message can never be delivered as it is (5xx
	// reply for that recipient, or a message that cannot be built).
	PermFailure
	// OutcomeUnknown means the message was completely handed over (the
	// final "." of DATA was written to the connection) but no reply was
	// read: the connection dropped, was reset or timed out, or ended before
	// the server's 250. The server may have queued the message, so the
	// sender never tries it again (not in this Send, not on a new
	// connection) and a caller must not either without checking: resending
	// could deliver a second copy. Err says what happened. The Outbox never
	// reports it (a rename is atomic: the file is there or not).
	OutcomeUnknown
)

// String returns "delivered", "temporary failure", "permanent failure" or
// "outcome unknown".
func (s Status) String() string {
	switch s {
	case Delivered:
		return "delivered"
	case TempFailure:
		return "temporary failure"
	case PermFailure:
		return "permanent failure"
	case OutcomeUnknown:
		return "outcome unknown"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is the outcome of one message: reported exactly once per message.
type Result struct {
	// Key is Message.Key.
	Key    string
	Status Status
	// Reply is the server's last reply ("250 2.0.0 queued as …", "550 5.1.1
	// no such user"), or a short description for the outbox and for failures
	// that happened before the server answered ("hourly cap reached").
	Reply string
	// Err is nil for Delivered and describes the failure otherwise.
	Err error
}

// ErrInvalidMessage is wrapped by every error Build returns for a message
// that can never be built as it is.
var ErrInvalidMessage = errors.New("mailer: invalid message")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

// MessageID returns the Message-ID, in angle brackets, that couponbridge uses
// for the email of campaign to email: the same campaign and recipient always
// give the same ID, so a resend is recognisable, while the ID reveals neither.
// domain should be the sender's domain; empty means "localhost".
func MessageID(campaign, email, domain string) string {
	sum := sha256.Sum256([]byte(campaign + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
	domain = strings.TrimSpace(domain)
	if domain == "" || strings.ContainsFunc(domain, invalidIDRune) || strings.ContainsAny(domain, "@") {
		domain = "localhost"
	}
	return "<couponbridge." + id + "@" + domain + ">"
}

// NewMessageID returns a Message-ID, in angle brackets, that no other
// message has (128 bits from crypto/rand): for a message that repeats an
// earlier one (a resend) and must not be taken for it. domain is as for
// [MessageID].
func NewMessageID(domain string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	domain = strings.TrimSpace(domain)
	if domain == "" || strings.ContainsFunc(domain, invalidIDRune) || strings.ContainsAny(domain, "@") {
		domain = "localhost"
	}
	return "<couponbridge." + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])) + "@" + domain + ">"
}

// Build returns the RFC 5322 bytes of msg (CRLF line endings, quoted-printable
// UTF-8 parts, multipart/alternative when both bodies are set). The output is
// a pure function of msg when Date and MessageID are set. The SMTP sender and
// the outbox both send exactly these bytes (preceded by a DKIM-Signature
// header when signing is configured).
func Build(msg Message) ([]byte, error) {
	b, _, err := build(msg)
	return b, err
}

// build returns the bytes and the Message-ID used (without angle brackets).
func build(msg Message) ([]byte, string, error) {
	from, err := mailbox("From", msg.From)
	if err != nil {
		return nil, "", err
	}
	to, err := mailbox("To", msg.To)
	if err != nil {
		return nil, "", err
	}
	var replyTo *mail.Address
	if msg.ReplyTo != nil && msg.ReplyTo.Email != "" {
		if replyTo, err = mailbox("Reply-To", *msg.ReplyTo); err != nil {
			return nil, "", err
		}
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, "", invalidf("message to %s has neither a text nor an HTML body", to.Address)
	}
	id, err := messageIDValue(msg.MessageID, from.Address)
	if err != nil {
		return nil, "", err
	}
	inReplyTo, refs, err := threadIDs(msg.InReplyTo, msg.References)
	if err != nil {
		return nil, "", err
	}
	unsub, err := unsubscribeURIs(msg.ListUnsubscribe, msg.OneClickUnsubscribe)
	if err != nil {
		return nil, "", err
	}
	date := msg.Date
	if date.IsZero() {
		date = time.Now()
	}

	// A deterministic boundary keeps Build a pure function of msg; it is
	// derived from the whole content so it cannot occur inside a part.
	h := sha256.New()
	for _, s := range []string{id, msg.Subject, msg.Text, msg.HTML} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	boundary := "cb-" + hex.EncodeToString(h.Sum(nil)[:16])

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithCharset(gomail.CharsetUTF8), gomail.WithBoundary(boundary))
	m.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, from)
	m.SetAddrHeaderFromMailAddress(gomail.HeaderTo, to)
	if replyTo != nil {
		m.ReplyToMailAddress(replyTo)
	}
	m.Subject(foldableText(cleanHeaderText(msg.Subject)))
	m.SetDateWithValue(date)
	m.SetMessageIDWithValue(id)
	if inReplyTo != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, inReplyTo)
	}
	if refs != "" {
		m.SetGenHeader(gomail.HeaderReferences, refs)
	}
	// Generic headers are written sorted; go-mail's preformatted ones (its
	// SetListUnsubscribe) come out in map order, which would make Build
	// non-deterministic.
	if len(unsub) > 0 {
		m.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+strings.Join(unsub, ">, <")+">")
		if msg.OneClickUnsubscribe {
			m.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
		}
	}
	switch {
	case msg.Text != "" && msg.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.Text != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	default:
		m.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("mailer: writing message to %s: %w", to.Address, err)
	}
	return buf.Bytes(), id, nil
}

// mailbox validates an address taken from data and returns it with a
// display name cleaned of control characters.
func mailbox(field string, a Address) (*mail.Address, error) {
	email := strings.TrimSpace(a.Email)
	if email == "" {
		return nil, invalidf("%s address is empty", field)
	}
	if strings.ContainsFunc(email, unicode.IsControl) {
		return nil, invalidf("%s address %q contains control characters", field, email)
	}
	if len(email) > maxAddressLen {
		return nil, invalidf("%s address %.40q… is %d bytes long; at most %d are allowed", field, email, len(email), maxAddressLen)
	}
	parsed, err := mail.ParseAddress(email)
	if err != nil || parsed.Address != email || parsed.Name != "" {
		return nil, invalidf("%s address %q is not a plain email address", field, email)
	}
	return &mail.Address{Name: displayName(a.Name), Address: email}, nil
}

// cleanHeaderText turns every control character (CR, LF, TAB, NUL, …) into
// a space, collapses runs of spaces and trims: text from data can never end
// a header line.
func cleanHeaderText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Header limits. RFC 5322 allows lines of at most 998 bytes (78
// recommended); go-mail folds header values at spaces near 76 characters,
// so every value built here is made of words that fit a line: names are cut,
// long subjects are split into encoded-words, and the unbreakable values
// (addresses, Message-ID, URLs) are bounded.
const (
	// maxNameRunes is the longest display name put into a header.
	maxNameRunes = 100
	// maxAddressLen is RFC 5321's limit for a mailbox (a path is 256 with
	// its angle brackets).
	maxAddressLen = 254
	// maxTokenLen bounds a Message-ID or a List-Unsubscribe URL: with its
	// header name it still fits a 998-byte line.
	maxTokenLen = 900
	// maxWordLen is the longest unencoded word of a subject; a longer one
	// could not be folded within 78 characters.
	maxWordLen = 70
)

// displayName cleans a display name taken from data (see cleanHeaderText)
// and cuts it to maxNameRunes runes.
func displayName(s string) string {
	s = cleanHeaderText(s)
	n := 0
	for i := range s {
		if n == maxNameRunes {
			return strings.TrimRight(s[:i], " ")
		}
		n++
	}
	return s
}

// foldableText returns s, already cleaned, in a form that go-mail can fold
// at spaces: unchanged when it is ASCII made of short words (or not ASCII:
// go-mail then encodes it as RFC 2047 encoded-words of at most 75
// characters), and otherwise as Q encoded-words of at most 75 characters,
// which readers join back into s.
func foldableText(s string) string {
	if !isASCII(s) {
		return s
	}
	long := false
	for _, w := range strings.Split(s, " ") {
		long = long || len(w) > maxWordLen
	}
	if !long {
		return s
	}
	const prefix, suffix = "=?UTF-8?q?", "?="
	const room = 75 - len(prefix) - len(suffix)
	var words []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		enc := string(c)
		switch {
		case c == ' ':
			enc = "_"
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
			// RFC 2047 5(3): safe as is in any header
		default:
			enc = fmt.Sprintf("=%02X", c)
		}
		if cur.Len()+len(enc) > room {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	if cur.Len() > 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return strings.Join(words, " ")
}

func invalidIDRune(r rune) bool {
	return r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' || r == ',' || r == ';' || r == '(' || r == ')' || r == '[' || r == ']'
}

// messageIDValue validates id (angle brackets optional) or makes a random one
// in the domain of from; it returns the ID without brackets.
func messageIDValue(id, from string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		domain := from[strings.LastIndexByte(from, '@')+1:]
		if domain == "" || strings.ContainsFunc(domain, invalidIDRune) {
			domain = "localhost"
		}
		return "couponbridge." + hex.EncodeToString(b[:]) + "@" + domain, nil
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if len(bare) > maxTokenLen {
		return "", invalidf("Message-ID %.40q… is %d bytes long; at most %d fit in a header line", id, len(bare), maxTokenLen)
	}
	left, right, ok := strings.Cut(bare, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") ||
		strings.ContainsFunc(bare, func(r rune) bool { return r != '@' && invalidIDRune(r) }) {
		return "", invalidf("Message-ID %q is not of the form <left@right> with printable ASCII", id)
	}
	return bare, nil
}

// threadIDs validates In-Reply-To and References and returns their header
// values, each ID in angle brackets (References space-separated, so that it
// folds between IDs).
func threadIDs(inReplyTo string, refs []string) (string, string, error) {
	var irt string
	if strings.TrimSpace(inReplyTo) != "" {
		id, err := messageIDValue(inReplyTo, "")
		if err != nil {
			return "", "", fmt.Errorf("In-Reply-To: %w", err)
		}
		irt = "<" + id + ">"
	}
	var out []string
	for _, r := range refs {
		if strings.TrimSpace(r) == "" {
			continue
		}
		id, err := messageIDValue(r, "")
		if err != nil {
			return "", "", fmt.Errorf("header References: %w", err)
		}
		out = append(out, "<"+id+">")
	}
	if len(out) > maxReferences {
		// RFC 5322 3.6.4 allows trimming: keep the first and the latest.
		out = append(out[:1], out[len(out)-maxReferences+1:]...)
	}
	return irt, strings.Join(out, " "), nil
}

// maxReferences bounds the References header; a resend of a resend of a
// reissue adds one ID each time.
const maxReferences = 10

// unsubscribeURIs validates the List-Unsubscribe URLs.
func unsubscribeURIs(uris []string, oneClick bool) ([]string, error) {
	var out []string
	hasHTTPS := false
	for _, u := range uris {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if len(u) > maxTokenLen {
			return nil, invalidf("List-Unsubscribe URL %.40q… is %d bytes long; at most %d fit in a header line", u, len(u), maxTokenLen)
		}
		if strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == ',' || r == '"' }) {
			return nil, invalidf("List-Unsubscribe URL %q contains spaces, control characters, non-ASCII or one of <>,\"", u)
		}
		p, err := url.Parse(u)
		if err != nil {
			return nil, invalidf("List-Unsubscribe URL %q: %v", u, err)
		}
		switch p.Scheme {
		case "https", "http":
			if p.Host == "" {
				return nil, invalidf("List-Unsubscribe URL %q has no host", u)
			}
			hasHTTPS = hasHTTPS || p.Scheme == "https"
		case "mailto":
			if p.Opaque == "" {
				return nil, invalidf("List-Unsubscribe URL %q has no address", u)
			}
		default:
			return nil, invalidf("List-Unsubscribe URL %q: scheme must be mailto, https or http", u)
		}
		out = append(out, u)
	}
	if oneClick && !hasHTTPS {
		return nil, invalidf("one-click unsubscribe (RFC 8058) needs an https List-Unsubscribe URL")
	}
	return out, nil
}
