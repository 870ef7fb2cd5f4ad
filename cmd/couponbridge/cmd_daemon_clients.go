package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// processClients holds the one store client and the one mail sender of a
// process, so that the limits of the configuration hold for the process as
// a whole. The daemon asks for them again on every reload while runs of the
// previous configuration go on: the same client and sender come back, their
// limits adjusted to the new configuration. Only a new store address or
// credentials (a new mail server or login) make a new one, and then:
//
//   - every store client of the process sends through one paceTransport, a
//     limiter at the configured ceiling under the clients' own, so the old
//     client's requests and the new one's add up to no more than the
//     ceiling;
//   - a new sender's hourly and daily caps start from what the ledger says
//     was sent (seedSendCaps), not from zero. Its per-second pacing starts
//     afresh: at most one burst more, never beyond the caps.
type processClients struct {
	ledger *campaign.Ledger
	logger *slog.Logger
	pace   *paceTransport

	mu          sync.Mutex
	store       *woo.Client
	storeID     storeIdentity
	storeLimits storeLimits
	sender      *sharedSender
	mailID      mailIdentity
	mailLimits  mailLimits
}

// newProcessClients returns the holder of a process's clients. base is the
// transport under every store client (nil: a clone of
// http.DefaultTransport); tests put a fake store there.
func newProcessClients(ledger *campaign.Ledger, logger *slog.Logger, base http.RoundTripper) *processClients {
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		base = t
	}
	return &processClients{ledger: ledger, logger: logger, pace: &paceTransport{next: base}}
}

// storeIdentity is what a store client cannot change once built.
type storeIdentity struct {
	url, authMode, key, secret string
	batchSize                  int
	timeout                    time.Duration
}

// storeLimits are what a reload adjusts on the client in place.
type storeLimits struct {
	rate        float64
	burst       int
	concurrency int
}

// storeLimitSetter is a store client whose limits can change in place:
// *woo.Client (woo's SetLimits).
type storeLimitSetter interface {
	SetLimits(rps float64, burst, concurrency int) error
}

// storeClient returns the process's store client for s: the one in use
// with its limits set to s's, or a new one when the store's address,
// credentials, batch size or timeout changed.
func (p *processClients) storeClient(s *StoreConfig) (*woo.Client, error) {
	id := storeIdentity{url: s.URL, authMode: s.AuthMode, key: s.ConsumerKey, secret: s.ConsumerSecret.Reveal(),
		batchSize: s.BatchSize, timeout: s.Timeout}
	lim := storeLimits{rate: s.Rate, burst: s.Burst, concurrency: s.Concurrency}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.pace.setLimit(s.Rate, s.Burst); err != nil {
		return nil, err
	}
	if p.store != nil && p.storeID == id {
		if p.storeLimits == lim {
			return p.store, nil
		}
		if ls, ok := any(p.store).(storeLimitSetter); ok {
			if err := ls.SetLimits(lim.rate, lim.burst, lim.concurrency); err != nil {
				return nil, err
			}
			p.storeLimits = lim
			return p.store, nil
		}
	}
	c, err := s.newClient(p.logger, &http.Client{Transport: p.pace})
	if err != nil {
		return nil, err
	}
	if p.store != nil && p.logger != nil {
		p.logger.Info("store client replaced (address, credentials or client settings changed); " +
			"requests of runs still using the previous one count against the same rate ceiling")
	}
	p.store, p.storeID, p.storeLimits = c, id, lim
	return c, nil
}

// restore puts the limits (and, if a rejected configuration replaced them,
// the client and sender) of cfg, the configuration in force, back after a
// reload was rejected.
func (p *processClients) restore(ctx context.Context, cfg *Config) {
	if _, err := p.storeClient(&cfg.Store); err != nil && p.logger != nil {
		p.logger.Warn("store client of the running configuration", "err", err)
	}
	p.mu.Lock()
	hasSender := p.sender != nil
	p.mu.Unlock()
	if !hasSender {
		return
	}
	if _, release, err := p.mailSender(ctx, &cfg.Mail); err != nil {
		if p.logger != nil {
			p.logger.Warn("mail sender of the running configuration", "err", err)
		}
	} else {
		_ = release()
	}
}

// paceTransport holds every store request of the process to one ceiling,
// whichever client sends it (see processClients). At the clients' own rate
// it adds no wait to what their limiters let through.
type paceTransport struct {
	next http.RoundTripper

	mu  sync.Mutex
	lim *rate.Limiter
}

// setLimit sets the ceiling; the limiter keeps its state across changes.
func (t *paceTransport) setLimit(rps float64, burst int) error {
	if !(rps > 0) || burst < 1 {
		return fmt.Errorf("store rate %v and burst %d must be positive", rps, burst)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lim == nil {
		t.lim = rate.NewLimiter(rate.Limit(rps), burst)
		return nil
	}
	t.lim.SetLimit(rate.Limit(rps))
	t.lim.SetBurst(burst)
	return nil
}

// RoundTrip implements http.RoundTripper.
func (t *paceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	lim := t.lim
	t.mu.Unlock()
	if lim != nil {
		if err := lim.Wait(req.Context()); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	return t.next.RoundTrip(req)
}

// mailIdentity is what a sender cannot change once built.
type mailIdentity struct {
	transport, outboxDir     string
	smtp                     mailer.SMTPConfig // without its limits
	dkimDomain, dkimSelector string
	dkimKey                  string
}

// sharedSender is the process's sender with the number of job sets (and
// the holder) using it: it is closed when the last one lets it go.
type sharedSender struct {
	mailSender
	refs int // guarded by processClients.mu
}

// mailLimits are what a reload adjusts on the sender: rate and caps.
type mailLimits struct {
	rate            float64
	perHour, perDay int
}

// mailSender returns the process's sender for m and a release function
// that the caller calls once it no longer uses it. The sender in use comes
// back unless the transport, server, login or DKIM key changed, or its
// limits changed and it cannot adjust them in place (see setSenderLimits).
func (p *processClients) mailSender(ctx context.Context, m *MailConfig) (mailSender, func() error, error) {
	id, err := m.identity()
	if err != nil {
		return nil, nil, err
	}
	var lim mailLimits // an outbox has none
	if m.Transport == "smtp" {
		lim = mailLimits{rate: m.SMTP.Rate, perHour: m.SMTP.PerHour, perDay: m.SMTP.PerDay}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.sender; cur != nil && p.mailID == id && (p.mailLimits == lim || setSenderLimits(cur.mailSender, m)) {
		p.mailLimits = lim
		cur.refs++
		return cur.mailSender, p.releaser(cur), nil
	}
	s, err := m.newLedgerSender(ctx, p.ledger, p.logger)
	if err != nil {
		return nil, nil, err
	}
	if old := p.sender; old != nil {
		if p.logger != nil {
			p.logger.Info("mail sender replaced; its hourly and daily caps count what the ledger says was sent")
		}
		_ = p.dropLocked(old)
	}
	p.sender = &sharedSender{mailSender: s, refs: 2} // the holder and the caller
	p.mailID, p.mailLimits = id, lim
	return s, p.releaser(p.sender), nil
}

func (p *processClients) releaser(s *sharedSender) func() error {
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			err = p.dropLocked(s)
		})
		return err
	}
}

// dropLocked gives up one use of s and closes it after the last. p.mu is held.
func (p *processClients) dropLocked(s *sharedSender) error {
	s.refs--
	if s.refs > 0 {
		return nil
	}
	return s.Close()
}

// Close lets go of the process's sender; it closes once the job sets that
// still use it are closed too.
func (p *processClients) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sender == nil {
		return nil
	}
	s := p.sender
	p.sender = nil
	return p.dropLocked(s)
}

// identity is what of m a sender cannot change once built.
func (m *MailConfig) identity() (mailIdentity, error) {
	id := mailIdentity{transport: m.Transport, dkimDomain: m.DKIM.Domain, dkimSelector: m.DKIM.Selector,
		dkimKey: string(m.DKIM.privateKeyPEM)}
	switch m.Transport {
	case "outbox":
		id.outboxDir = m.OutboxDir
	case "smtp":
		cfg, err := m.SMTP.smtpConfig()
		if err != nil {
			return mailIdentity{}, err
		}
		cfg.RatePerSecond, cfg.PerHour, cfg.PerDay, cfg.CapWait = 0, 0, 0, 0
		id.smtp = cfg
	}
	return id, nil
}

// setSenderLimits sets the rate and the hourly and daily caps of m on s in
// place and reports whether it could: the SMTP sender keeps its rolling
// windows, so a reload never resets what was already sent. The outbox has
// no limits to set, and a sender that refuses them is replaced by the
// caller (its caps then start from the ledger, see seedSendCaps).
func setSenderLimits(s mailSender, m *MailConfig) bool {
	ls, ok := s.(interface{ SetLimits(mailer.Limits) error })
	return ok && ls.SetLimits(mailer.Limits{RatePerSecond: m.SMTP.Rate, PerHour: m.SMTP.PerHour, PerDay: m.SMTP.PerDay}) == nil
}
