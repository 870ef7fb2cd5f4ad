package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// loginSMTP is an in-process mail server that accepts only user shop with
// password right, and counts the messages it is given.
type loginSMTP struct {
	port      int
	delivered atomic.Int32
}

func startLoginSMTP(t *testing.T) *loginSMTP {
	t.Helper()
	b := &loginSMTP{}
	s := smtp.NewServer(b)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return b
}

func (b *loginSMTP) NewSession(*smtp.Conn) (smtp.Session, error) { return &loginSession{b: b}, nil }

type loginSession struct {
	b      *loginSMTP
	authed bool
}

func (s *loginSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *loginSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "shop" || pass != "right" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *loginSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *loginSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *loginSession) Data(io.Reader) error {
	s.b.delivered.Add(1)
	return nil
}
func (s *loginSession) Reset()        {}
func (s *loginSession) Logout() error { return nil }

// doctorStore is a sandbox in Berlin selling in EUR, with a read/write key
// ck_rw/cs_rw and a read-only key ck_ro/cs_ro, over plain HTTP (OAuth 1.0a).
func doctorStore(t *testing.T, opts ...wootest.StoreOption) string {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	store := wootest.NewStore(append([]wootest.StoreOption{
		wootest.WithKey("ck_rw", "cs_rw", wootest.ReadWrite),
		wootest.WithKey("ck_ro", "cs_ro", wootest.Read),
		wootest.WithTimezone(berlin),
		wootest.WithCurrency("EUR"),
	}, opts...)...)
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	return srv.URL
}

// doctorConfigIn is doctorConfig with a good key and login in time zone tz.
func doctorConfigIn(t *testing.T, url, tz string) string {
	mail := startLoginSMTP(t)
	return strings.Replace(doctorConfig(url, "ck_rw", "cs_rw", "EUR", mail.port, "right", "{days: 30}"),
		"timezone: Europe/Berlin", "timezone: "+tz, 1)
}

// doctorConfig is a configuration for the store at url with key/secret,
// currency cur, the mail server on port with password pass, and the
// welcome campaign's expiry.
func doctorConfig(url, key, secret, cur string, port int, pass, expiry string) string {
	return fmt.Sprintf(`store:
  url: %s
  consumer_key: %s
  consumer_secret: %s
  timezone: Europe/Berlin
  currency: %s
mail:
  transport: smtp
  smtp: {host: 127.0.0.1, port: %d, tls: none, auth: plain, username: shop, password: %s, timeout: 5s}
  from: {address: shop@example.com}
campaigns:
  welcome:
    coupon:
      discount_type: percent
      amount: 10
      expiry: %s
`, url, key, secret, cur, port, pass, expiry)
}

func TestDoctorPassesEveryCheckAgainstAGoodStoreAndMailServer(t *testing.T) {
	mail := startLoginSMTP(t)
	cfg := writeConfig(t, doctorConfig(doctorStore(t), "ck_rw", "cs_rw", "EUR", mail.port, "right", "{days: 30}"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitOK)
	for _, name := range []string{"store reachable", "key valid", "key can write", "store time zone", "store currency", "mail server", "campaign welcome"} {
		if !strings.Contains(r.stdout, "OK    "+name+" ") {
			t.Errorf("want %q OK:\n%v", name, r)
		}
	}
	if n := mail.delivered.Load(); n != 0 {
		t.Errorf("doctor sent %d messages, want none", n)
	}
}

func TestDoctorFailsAReadOnlyKeyAWrongCurrencyARefusedLoginAndAPastExpiry(t *testing.T) {
	mail := startLoginSMTP(t)
	cfg := writeConfig(t, doctorConfig(doctorStore(t), "ck_ro", "cs_ro", "USD", mail.port, "wrong", "{date: 2020-01-31}"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitError)
	lines := strings.Split(r.stdout, "\n")
	want := map[string]string{
		"OK    store reachable":  "",
		"OK    key valid":        "",
		"FAIL  key can write":    "read-only key",
		"OK    store time zone":  "",
		"FAIL  store currency":   "set store.currency: EUR",
		"FAIL  mail server":      "535",
		"FAIL  campaign welcome": "2020-01-31 has passed",
	}
	for prefix, text := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) && strings.Contains(l, text) {
				found = true
			}
		}
		if !found {
			t.Errorf("want a line %q containing %q:\n%v", prefix, text, r)
		}
	}
	if !strings.Contains(r.stderr, "4 of 7 checks failed") {
		t.Errorf("want the count of failures on stderr:\n%v", r)
	}
	if strings.Contains(r.stdout+r.stderr, "cs_ro") || strings.Contains(r.stdout+r.stderr, "wrong") && strings.Contains(r.stdout+r.stderr, "password: wrong") {
		t.Errorf("a secret reached the output:\n%v", r)
	}
}

func TestDoctorExplainsAWrongSecret(t *testing.T) {
	mail := startLoginSMTP(t)
	cfg := writeConfig(t, doctorConfig(doctorStore(t), "ck_rw", "cs_not_it", "EUR", mail.port, "right", "{days: 30}"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "FAIL  key valid") || strings.Count(r.stdout, "wrong secret") != 1 {
		t.Errorf("want key valid FAIL with the wrong secret explained once:\n%v", r)
	}
	if !strings.Contains(r.stdout, "FAIL  key can write      not tried") {
		t.Errorf("want the write check not tried with a refused key:\n%v", r)
	}
	if strings.Contains(r.stdout+r.stderr, "cs_not_it") {
		t.Errorf("the secret reached the output:\n%v", r)
	}
}

func TestDoctorStopsAtAnUnreachableStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	mail := startLoginSMTP(t)
	cfg := writeConfig(t, doctorConfig(url, "ck_rw", "cs_rw", "EUR", mail.port, "right", "{days: 30}"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "FAIL  store reachable") || strings.Contains(r.stdout, "key valid") || !strings.Contains(r.stdout, "OK    mail server") {
		t.Errorf("want store reachable FAIL, no key checks, the mail server still checked:\n%v", r)
	}
}

func TestCheckConfigOnlineRunsTheDoctorsChecks(t *testing.T) {
	mail := startLoginSMTP(t)
	cfg := writeConfig(t, doctorConfig(doctorStore(t), "ck_rw", "cs_rw", "EUR", mail.port, "wrong", "{days: 30}"))
	r := runCLI(t, t.Context(), nil, "check-config", "--config", cfg)
	wantCode(t, r, exitOK) // offline: the login is not tried
	r = runCLI(t, t.Context(), nil, "check-config", "--online", "--config", cfg)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "OK    key can write") || !strings.Contains(r.stdout, "FAIL  mail server") {
		t.Errorf("want the online checks after the summary:\n%v", r)
	}
}

func TestDoctorComparesTheStoresTimeZone(t *testing.T) {
	india := wootest.WithTimezone(time.FixedZone("UTC+5:30", 5*3600+1800)) // WordPress's "UTC+5:30" choice
	for _, tc := range []struct {
		name, tz string
		store    []wootest.StoreOption
		want     string
	}{
		{"same zone", "Europe/Berlin", nil, "OK    store time zone    Europe/Berlin"},
		{"another zone", "Europe/Paris", nil, "FAIL  store time zone    the store says Europe/Berlin, store.timezone is Europe/Paris (fix: set store.timezone: Europe/Berlin"},
		{"a fixed offset equal all year", "Asia/Kolkata", []wootest.StoreOption{india}, "OK    store time zone    the store uses a fixed offset (UTC+5.5)"},
		{"a fixed offset and summer time", "Europe/Berlin", []wootest.StoreOption{wootest.WithTimezone(time.FixedZone("UTC+1", 3600))}, "FAIL  store time zone    the store uses a fixed offset (UTC+1)"},
	} {
		cfg := writeConfig(t, doctorConfigIn(t, doctorStore(t, tc.store...), tc.tz))
		r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
		if !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: want %q:\n%v", tc.name, tc.want, r)
		}
	}
}

func TestDoctorSkipsTheTimeZoneOfAStoreThatClosesItsIndex(t *testing.T) {
	store := wootest.NewStore(wootest.WithKey("ck_rw", "cs_rw", wootest.ReadWrite), wootest.WithCurrency("EUR"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wp-json/" { // as the "Disable REST API" plugins answer visitors
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"rest_login_required","message":"REST API restricted to authenticated users.","data":{"status":401}}`)
			return
		}
		store.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := writeConfig(t, doctorConfigIn(t, srv.URL, "Europe/Berlin"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "OK    store reachable") || !strings.Contains(r.stdout, "SKIP  store time zone") || !strings.Contains(r.stdout, "by hand") {
		t.Errorf("want the store reachable and its time zone skipped with what to compare:\n%v", r)
	}
}

func TestDoctorPassesOnTheSandboxWithTheDemoConfiguration(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// What `couponbridge sandbox --timezone Europe/Berlin --currency EUR` serves.
	srv := httptest.NewServer(wootest.NewStore(wootest.WithTimezone(berlin), wootest.WithCurrency("EUR")))
	t.Cleanup(srv.Close)
	cfg := writeConfig(t, string(demoConfig))
	r := runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_STORE_URL": srv.URL}, "doctor", "--config", cfg)
	wantCode(t, r, exitOK)
}

func TestDoctorSkipsTheCurrencyWhenTheKeysUserMayNotReadSettings(t *testing.T) {
	store := wootest.NewStore(wootest.WithKey("ck_rw", "cs_rw", wootest.ReadWrite), wootest.WithCurrency("EUR"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/wp-json/wc/v3/settings/") { // a key of a user without manage_woocommerce
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":403}}`)
			return
		}
		store.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := writeConfig(t, doctorConfigIn(t, srv.URL, "UTC"))
	r := runCLI(t, t.Context(), nil, "doctor", "--config", cfg)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "SKIP  store currency") || !strings.Contains(r.stdout, "(EUR) by hand") {
		t.Errorf("want the currency skipped with what to compare:\n%v", r)
	}
}
