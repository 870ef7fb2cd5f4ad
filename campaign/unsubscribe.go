package campaign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// UnsubscribePath is the daemon's unsubscribe route: RFC 8058 one-click
// POSTs from mail clients, and the page the link in an email's footer opens.
const UnsubscribePath = "/unsubscribe"

// UnsubscribeLinks makes and checks the unsubscribe links of the emails. A
// link names a campaign and an address and carries an HMAC-SHA256 of both
// under Secret, so nobody can unsubscribe someone else by editing a link.
type UnsubscribeLinks struct {
	// BaseURL is the daemon's public address, as the shop's web server
	// forwards it (daemon.public_url), such as
	// "https://shop.example.com/couponbridge"; links are BaseURL +
	// UnsubscribePath + the query.
	BaseURL string
	// Secret keys the tokens; changing it invalidates every link already
	// sent, so it is configured, never generated at start.
	Secret []byte
}

// NewUnsubscribeLinks checks baseURL and secret and returns the links.
func NewUnsubscribeLinks(baseURL string, secret []byte) (*UnsubscribeLinks, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("unsubscribe links: the public URL must be an http:// or https:// URL without query, got %q", baseURL)
	}
	if len(secret) < 16 {
		return nil, errors.New("unsubscribe links: the secret must be at least 16 bytes long")
	}
	return &UnsubscribeLinks{BaseURL: strings.TrimSuffix(baseURL, "/"), Secret: secret}, nil
}

// Link returns the unsubscribe URL of email in campaign. Its signature
// fits campaign.MailSpec.UnsubscribeLink.
func (u *UnsubscribeLinks) Link(campaign, email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	q := url.Values{"c": {campaign}, "e": {email}, "t": {u.token(campaign, email)}}
	return u.BaseURL + UnsubscribePath + "?" + q.Encode()
}

// Valid reports whether token was made by Link for campaign and email. It
// compares in constant time.
func (u *UnsubscribeLinks) Valid(campaign, email, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, u.mac(campaign, strings.ToLower(strings.TrimSpace(email))))
}

func (u *UnsubscribeLinks) token(campaign, email string) string {
	return base64.RawURLEncoding.EncodeToString(u.mac(campaign, email))
}

func (u *UnsubscribeLinks) mac(campaign, email string) []byte {
	h := hmac.New(sha256.New, u.Secret)
	// The purpose and a separator that neither part can hold keep a token
	// from being valid for another pair or another use of the secret.
	h.Write([]byte("couponbridge-unsubscribe\x00"))
	h.Write([]byte(campaign))
	h.Write([]byte{0})
	h.Write([]byte(email))
	return h.Sum(nil)
}

// Suppressor records unsubscribes; *Ledger satisfies it.
type Suppressor interface {
	Suppress(ctx context.Context, s Suppression) (added bool, err error)
}

// maxUnsubscribeBody bounds the body of an unsubscribe POST: RFC 8058's is
// "List-Unsubscribe=One-Click", the page's form a few hidden fields.
const maxUnsubscribeBody = 8 << 10

// Unsubscribe rate: a mail provider may post a burst of one-click requests
// after a campaign; the ledger writes each durably.
const (
	unsubscribeRate  = 20
	unsubscribeBurst = 200
)

// UnsubscribeHandler serves UnsubscribePath. POST unsubscribes (RFC 8058
// one-click, or the page's button) and answers 200 at once; GET only shows
// a page with the button, since link scanners and previews open every link
// of an email. No login: the token is the proof.
type UnsubscribeHandler struct {
	Links  *UnsubscribeLinks
	Ledger Suppressor
	Logger *slog.Logger
	// Counter counts new unsubscribes by how they came (one_click, page);
	// nil: not counted. See NewUnsubscribeCounter.
	Counter *prometheus.CounterVec
	limiter *rate.Limiter
}

// NewUnsubscribeHandler returns the handler of UnsubscribePath.
func NewUnsubscribeHandler(links *UnsubscribeLinks, ledger Suppressor, logger *slog.Logger, counter *prometheus.CounterVec) *UnsubscribeHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &UnsubscribeHandler{Links: links, Ledger: ledger, Logger: logger, Counter: counter,
		limiter: rate.NewLimiter(unsubscribeRate, unsubscribeBurst)}
}

// NewUnsubscribeCounter creates couponbridge_unsubscribes_total and
// registers it with reg (nil: not registered).
func NewUnsubscribeCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "couponbridge_unsubscribes_total",
		Help: "Addresses added to the suppression list through an email's unsubscribe link or header, by how (one_click, page).",
	}, []string{"via"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

func (h *UnsubscribeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.serveGet(w, r)
	case http.MethodPost:
		h.servePost(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.page(w, http.StatusMethodNotAllowed, pageData{Title: "Method not allowed"})
	}
}

func (h *UnsubscribeHandler) serveGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, e, t := q.Get("c"), q.Get("e"), q.Get("t")
	if !h.Links.Valid(c, e, t) {
		h.refuse(w, r, "get")
		return
	}
	h.page(w, http.StatusOK, pageData{Title: "Unsubscribe", Email: e, Form: true, C: c, E: e, T: t})
}

func (h *UnsubscribeHandler) servePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxUnsubscribeBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.page(w, http.StatusRequestEntityTooLarge, pageData{Title: "Request too large"})
			return
		}
		h.page(w, http.StatusBadRequest, pageData{Title: "Bad request"})
		return
	}
	// The one-click POST carries the link's query; the page's form sends
	// the same fields in its body (a proxy might drop the query of a form
	// action).
	c, e, t := r.FormValue("c"), r.FormValue("e"), r.FormValue("t")
	if !h.Links.Valid(c, e, t) {
		h.refuse(w, r, "post")
		return
	}
	if !h.limiter.Allow() {
		w.Header().Set("Retry-After", "5")
		h.page(w, http.StatusServiceUnavailable, pageData{Title: "Busy, please try again in a moment"})
		return
	}
	via := "page"
	if r.PostFormValue("List-Unsubscribe") == "One-Click" {
		via = "one_click"
	}
	// A request that reached this point is recorded even if the client
	// hangs up: it asked to unsubscribe.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), unsubscribeTimeout)
	defer cancel()
	added, err := h.Ledger.Suppress(ctx, Suppression{
		Email: e, Campaign: c, Source: SuppressUnsubscribe, Reason: "unsubscribed (" + strings.ReplaceAll(via, "_", "-") + ")",
	})
	if err != nil {
		// A 5xx makes a mail provider try the one-click again later.
		h.Logger.Error("unsubscribe: recording in the ledger failed", "campaign", c, "email", MaskEmail(e), "err", err)
		h.page(w, http.StatusInternalServerError, pageData{Title: "Something went wrong, please try again later"})
		return
	}
	if added {
		h.Logger.Info("unsubscribed", "campaign", c, "email", MaskEmail(e), "via", via)
		if h.Counter != nil {
			h.Counter.WithLabelValues(via).Inc()
		}
	}
	h.page(w, http.StatusOK, pageData{Title: "You are unsubscribed", Email: e, Done: true})
}

// refuse answers a link whose token does not match: edited, cut by a mail
// client, or signed with another secret.
func (h *UnsubscribeHandler) refuse(w http.ResponseWriter, r *http.Request, method string) {
	h.Logger.Info("unsubscribe: link refused (bad token)", "method", method, "remote", r.RemoteAddr)
	h.page(w, http.StatusForbidden, pageData{Title: "This unsubscribe link is not valid",
		Text: "The link may have been cut or changed. Please open it again from the email, or reply to the email and ask to be unsubscribed."})
}

type pageData struct {
	Title, Text string
	Email       string
	Form, Done  bool
	C, E, T     string
}

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#333;color:#fff;cursor:pointer}</style>
</head><body>
<h1>{{.Title}}</h1>
{{- if .Form}}
<p>Stop sending coupon emails to <strong>{{.Email}}</strong>?</p>
<form method="post" action="">
<input type="hidden" name="c" value="{{.C}}"><input type="hidden" name="e" value="{{.E}}"><input type="hidden" name="t" value="{{.T}}">
<button type="submit">Unsubscribe</button>
</form>
{{- else if .Done}}
<p><strong>{{.Email}}</strong> will get no more coupon emails from us.</p>
{{- end}}
{{- if .Text}}
<p>{{.Text}}</p>
{{- end}}
</body></html>
`))

func (h *UnsubscribeHandler) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := unsubscribePage.Execute(w, d); err != nil {
		h.Logger.Debug("unsubscribe: writing the page", "err", err)
	}
}

// MaskEmail returns email with its local part shortened to its first
// letter, for log lines: enough to match a complaint, less to leak.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "***"
	}
	return email[:1] + "***" + email[at:]
}

// unsubscribeTimeout bounds the ledger write of one unsubscribe.
const unsubscribeTimeout = 10 * time.Second
