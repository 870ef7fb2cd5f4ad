package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// This file turns the configuration's typed sections into the values the
// parts take: woo options, mailer senders and configurations, campaign
// values. Commands call these and only wire.

// authMode resolves "auto": Basic over https, OAuth 1.0a over http (the only
// mode WooCommerce accepts without TLS).
func (s *StoreConfig) authMode() (woo.AuthMode, error) {
	if s.AuthMode == "auto" || s.AuthMode == "" {
		if u, err := url.Parse(s.URL); err == nil && u.Scheme == "http" {
			return woo.AuthOAuth1, nil
		}
		return woo.AuthBasic, nil
	}
	return woo.ParseAuthMode(s.AuthMode)
}

// clientOptions are the woo options for this store. hc may be nil.
func (s *StoreConfig) clientOptions(logger *slog.Logger, hc *http.Client) ([]woo.Option, error) {
	mode, err := s.authMode()
	if err != nil {
		return nil, err
	}
	opts := []woo.Option{
		woo.WithCredentials(s.ConsumerKey, s.ConsumerSecret.Reveal()),
		woo.WithAuthMode(mode),
		woo.WithRateLimit(s.Rate, s.Burst),
		woo.WithMaxConcurrency(s.Concurrency),
		woo.WithBatchSize(s.BatchSize),
		woo.WithTimeout(s.Timeout),
		woo.WithUserAgent("couponbridge/" + releaseVersion()),
	}
	if logger != nil {
		opts = append(opts, woo.WithLogger(logger))
	}
	if hc != nil {
		opts = append(opts, woo.WithHTTPClient(hc))
	}
	return opts, nil
}

// newClient builds the WooCommerce client for this store.
func (s *StoreConfig) newClient(logger *slog.Logger, hc *http.Client) (*woo.Client, error) {
	opts, err := s.clientOptions(logger, hc)
	if err != nil {
		return nil, err
	}
	return woo.NewClient(s.URL, opts...)
}

// smtpConfig is the mailer's view of the smtp section.
func (s *SMTPConfig) smtpConfig() (mailer.SMTPConfig, error) {
	tlsMode, err := mailer.ParseTLSMode(s.TLS)
	if err != nil {
		return mailer.SMTPConfig{}, err
	}
	auth, err := mailer.ParseAuthMethod(s.Auth)
	if err != nil {
		return mailer.SMTPConfig{}, err
	}
	return mailer.SMTPConfig{
		Host:          s.Host,
		Port:          s.Port,
		TLS:           tlsMode,
		Auth:          auth,
		Username:      s.Username,
		Password:      s.Password.Reveal(),
		Connections:   s.Connections,
		RatePerSecond: s.Rate,
		PerHour:       s.PerHour,
		PerDay:        s.PerDay,
		Timeout:       s.Timeout,
	}, nil
}

// mailSender is what a configured transport gives: *mailer.SMTPSender or
// *mailer.Outbox.
type mailSender interface {
	Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error
	Close() error
}

// senderOptions are the mailer options shared by both transports.
func (m *MailConfig) senderOptions(logger *slog.Logger) []mailer.SenderOption {
	var opts []mailer.SenderOption
	if logger != nil {
		opts = append(opts, mailer.WithLogger(logger))
	}
	if m.DKIM.Domain != "" {
		opts = append(opts, mailer.WithDKIM(mailer.DKIMConfig{
			Domain: m.DKIM.Domain, Selector: m.DKIM.Selector, PrivateKeyPEM: m.DKIM.privateKeyPEM,
		}))
	}
	return opts
}

// newSender opens the configured transport. The outbox folder is created.
func (m *MailConfig) newSender(logger *slog.Logger) (mailSender, error) {
	switch m.Transport {
	case "outbox":
		return mailer.NewOutbox(m.OutboxDir, m.senderOptions(logger)...)
	case "smtp":
		cfg, err := m.SMTP.smtpConfig()
		if err != nil {
			return nil, err
		}
		return mailer.NewSMTPSender(cfg, m.senderOptions(logger)...)
	}
	return nil, fmt.Errorf("unknown mail transport %q", m.Transport)
}

// newLedgerSender opens the configured transport with its hourly and
// daily caps counting what the ledger says was sent in the last day, by
// this process or another (a daemon, a run-job under cron, an issue).
func (m *MailConfig) newLedgerSender(ctx context.Context, ledger *campaign.Ledger, logger *slog.Logger) (mailSender, error) {
	s, err := m.newSender(logger)
	if err != nil {
		return nil, err
	}
	if err := seedSendCaps(ctx, ledger, s, time.Now()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// pastSendsRecorder is a sender whose caps can count sends made before it
// existed: *mailer.SMTPSender (RecordPastSends).
type pastSendsRecorder interface {
	RecordPastSends(at []time.Time)
}

// capHistory is how far back a new sender's caps look: the daily cap's window.
const capHistory = 24 * time.Hour

// seedSendCaps tells s what the ledger says was sent since a day before now.
func seedSendCaps(ctx context.Context, ledger *campaign.Ledger, s mailSender, now time.Time) error {
	r, ok := s.(pastSendsRecorder)
	if !ok || ledger == nil {
		return nil
	}
	at, err := ledger.SendsSince(ctx, now.Add(-capHistory))
	if err != nil {
		return fmt.Errorf("mail caps: %w", err)
	}
	r.RecordPastSends(at)
	return nil
}

// from is the sender mailbox.
func (m *MailConfig) from() mailer.Address {
	return mailer.Address{Name: m.From.Name, Email: m.From.Address}
}

// listUnsubscribe is the List-Unsubscribe URIs.
func (m *MailConfig) listUnsubscribe() []string {
	var out []string
	if m.Unsubscribe.Mailto != "" {
		addr := m.Unsubscribe.Mailto
		if len(addr) < 7 || addr[:7] != "mailto:" {
			addr = "mailto:" + addr
		}
		out = append(out, addr)
	}
	if m.Unsubscribe.URL != "" {
		out = append(out, m.Unsubscribe.URL)
	}
	return out
}

// messageIDDomain is the right-hand side of Message-IDs: the configured
// domain, or the From address's domain.
func (m *MailConfig) messageIDDomain() string {
	if m.MessageIDDomain != "" {
		return m.MessageIDDomain
	}
	for i := len(m.From.Address) - 1; i >= 0; i-- {
		if m.From.Address[i] == '@' {
			return m.From.Address[i+1:]
		}
	}
	return "couponbridge.invalid"
}

// codeSpec is the campaign package's view of the codes section.
func (cc *CampaignConfig) codeSpec() campaign.CodeSpec {
	return campaign.CodeSpec{
		Prefix:    cc.Codes.Prefix,
		Pattern:   cc.Codes.Pattern,
		Length:    cc.Codes.Length,
		GroupSize: cc.Codes.GroupSize,
		Alphabet:  cc.Codes.Alphabet,
	}
}

// templateSource is the mailer's view of the email section.
func (cc *CampaignConfig) templateSource() mailer.TemplateSource {
	return mailer.TemplateSource{
		Subject:  cc.Email.Subject,
		TextFile: cc.Email.TextTemplate,
		HTMLFile: cc.Email.HTMLTemplate,
		Purpose:  cc.purpose,
		Locale:   cc.locale,
	}
}

// lookupCampaign returns the named campaign's configuration.
func (c *Config) lookupCampaign(name string) (*CampaignConfig, error) {
	cc, ok := c.Campaigns[name]
	if !ok || cc == nil {
		names := make([]string, 0, len(c.Campaigns))
		for n := range c.Campaigns {
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, usageErrorf("unknown campaign %q: %s defines no campaigns", name, c.src.file)
		}
		return nil, usageErrorf("unknown campaign %q: %s defines %s", name, c.src.file, joinSorted(names))
	}
	return cc, nil
}

// couponTemplate is the campaign package's view of the coupon section.
func (cc *CampaignConfig) couponTemplate() campaign.CouponTemplate {
	c := cc.Coupon
	individual := c.IndividualUse
	return campaign.CouponTemplate{
		DiscountType:              c.DiscountType,
		Amount:                    c.Amount,
		Expiry:                    campaign.ExpirySpec{Days: c.Expiry.Days, Date: c.Expiry.Date},
		MinimumAmount:             c.MinimumAmount,
		MaximumAmount:             c.MaximumAmount,
		IndividualUse:             &individual,
		ExcludeSaleItems:          c.ExcludeSaleItems,
		FreeShipping:              c.FreeShipping,
		ProductIDs:                c.ProductIDs,
		ExcludedProductIDs:        c.ExcludedProductIDs,
		ProductCategories:         c.ProductCategories,
		ExcludedProductCategories: c.ExcludedProductCategories,
		Description:               c.Description,
	}
}

// campaign builds the named campaign. count is the number of codes of an
// export-only campaign (0 for emailed ones).
func (c *Config) campaign(name string, count int) (campaign.Campaign, error) {
	cc, err := c.lookupCampaign(name)
	if err != nil {
		return campaign.Campaign{}, err
	}
	camp := campaign.Campaign{
		Name:       name,
		Codes:      cc.codeSpec(),
		Coupon:     cc.couponTemplate(),
		ExportOnly: cc.ExportOnly,
		Count:      count,
	}
	if !cc.ExportOnly {
		var replyTo mailer.Address
		if c.Mail.replyTo != nil {
			replyTo = *c.Mail.replyTo
		}
		camp.Mail = campaign.MailSpec{
			From:            c.Mail.from(),
			ReplyTo:         replyTo,
			Templates:       cc.templates,
			StoreName:       c.Store.Name,
			StoreURL:        c.Store.URL,
			Currency:        c.Store.Currency,
			ApplyURLPattern: cc.Email.ApplyURL,
			ExpiryLayout:    cc.Email.ExpiryLayout,
			MessageIDDomain: c.Mail.messageIDDomain(),
			Unsubscribe:     c.Mail.listUnsubscribe(),
			OneClick:        c.Mail.Unsubscribe.OneClick,
			ShopAddress:     c.Mail.ShopAddress,
			BrandColor:      c.Mail.BrandColor,
			LogoURL:         c.Mail.LogoURL,
		}
		if links := c.unsubscribeLinks(); links != nil {
			camp.Mail.UnsubscribeLink = links.Link
		}
	}
	return camp, nil
}

// issueOptions are the issuing pipeline's settings from the store section.
func (c *Config) issueOptions(logger *slog.Logger) campaign.IssueOptions {
	return campaign.IssueOptions{
		Location:    c.Store.Location(),
		BatchSize:   c.Store.BatchSize,
		Concurrency: c.Store.Concurrency,
		Rate:        c.Store.Rate,
		UnclearHold: c.Store.unclearHold(),
		Logger:      logger,
		// The read-back before mailing is a mail setting for the owner.
		VerifyMaxAge: c.Mail.ReverifyAfter,
	}
}
