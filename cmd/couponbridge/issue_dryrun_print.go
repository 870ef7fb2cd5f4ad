package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// pace is what the dry run needs of the mail settings to estimate the
// email part of a run, with what the ledger (nil: none yet) says went out
// in the last hour and day when there are caps. A ledger that cannot say
// leaves SentKnown false: the estimate is still worth printing.
func (m *MailConfig) pace(ctx context.Context, ledger *campaign.Ledger, now time.Time) campaign.MailPace {
	if m.Transport == "outbox" {
		return campaign.MailPace{Outbox: true}
	}
	mp := campaign.MailPace{Rate: m.SMTP.Rate, Connections: m.SMTP.Connections, PerHour: m.SMTP.PerHour, PerDay: m.SMTP.PerDay}
	if mp.PerHour == 0 && mp.PerDay == 0 {
		return mp
	}
	if ledger == nil {
		mp.SentKnown = true
		return mp
	}
	at, err := ledger.SendsSince(ctx, now.Add(-capHistory))
	if err != nil {
		return mp
	}
	mp.SentKnown, mp.SentLastDay = true, len(at)
	for _, t := range at {
		if !t.Before(now.Add(-time.Hour)) {
			mp.SentLastHour++
		}
	}
	return mp
}

// printPlanColumns writes which column of the recipient list became what:
// the email and names first (a wrong guess there shows in every email),
// then the template fields.
func printPlanColumns(w io.Writer, cols []campaign.ColumnUse) {
	if len(cols) == 0 {
		return
	}
	var names, fields []string
	hasName := false
	for _, c := range cols {
		switch c.Role {
		case campaign.ColumnField:
			fields = append(fields, c.String())
		case campaign.ColumnIgnored:
		default:
			names = append(names, c.String())
			hasName = hasName || c.Role != campaign.ColumnEmail
		}
	}
	line := strings.Join(names, ", ")
	if !hasName {
		line += " (no name column: names are empty; rename a column to first_name to use one)"
	}
	fmt.Fprintf(w, "Columns:\t%s\n", line)
	if len(fields) > 0 {
		fmt.Fprintf(w, "Other columns:\t%s\n", strings.Join(fields, ", "))
	}
}

// planEmails says how many messages go out and how fast: "3000, at most 5
// per second over 2 connections", and what the caps hold back.
func planEmails(p *campaign.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", p.Emails)
	m := p.Mail
	switch {
	case p.Emails == 0:
	case m.Outbox:
		b.WriteString(", written to the outbox folder (nothing sent)")
	case m.Rate > 0:
		fmt.Fprintf(&b, ", at most %g per second over %d connection%s", m.Rate, m.Connections, plural(m.Connections))
	default:
		fmt.Fprintf(&b, ", over %d connection%s (no rate limit)", m.Connections, plural(m.Connections))
	}
	return b.String()
}

// printPlanCaps writes, when the mail caps hold messages back, how many go
// out in this run and how many wait: a run does not wait for a cap.
func printPlanCaps(w io.Writer, p *campaign.Plan) {
	if p.MailHeld == 0 {
		return
	}
	var caps []string
	if p.Mail.PerHour > 0 {
		caps = append(caps, fmt.Sprintf("%d an hour", p.Mail.PerHour))
	}
	if p.Mail.PerDay > 0 {
		caps = append(caps, fmt.Sprintf("%d a day", p.Mail.PerDay))
	}
	m := p.Mail
	var sent string
	switch {
	case !m.SentKnown:
		sent = " (fewer go out if some went in the last hour or day: the ledger could not say)"
	case m.SentLastDay > 0:
		sent = fmt.Sprintf(" (%d sent in the last hour, %d in the last day)", m.SentLastHour, m.SentLastDay)
	}
	fmt.Fprintf(w, "Mail caps:\t%s: %d go out in this run, %d wait for a later run%s\n",
		strings.Join(caps, ", "), p.MailThisRun, p.MailHeld, sent)
}

// planEstimate says how long the whole run would take, and its parts:
// "about 10m29s in all: 29s for the store, 10m0s for the emails".
func planEstimate(p *campaign.Plan) string {
	if p.ExportOnly {
		return fmt.Sprintf("about %s (the store; an export-only campaign sends no email)", roughDuration(p.EstimatedDuration))
	}
	emails := "the emails"
	if p.MailHeld > 0 {
		emails = fmt.Sprintf("the %d emails of this run", p.MailThisRun)
	}
	return fmt.Sprintf("about %s in all: %s for the store, %s for %s",
		roughDuration(p.EstimatedDuration), roughDuration(p.StoreDuration), roughDuration(p.MailDuration), emails)
}

func roughDuration(d time.Duration) string {
	if d < time.Second {
		return "under a second"
	}
	return d.Round(time.Second).String()
}
