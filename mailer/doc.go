// Package mailer composes and delivers the emails that carry coupon codes.
//
// Composition: [LoadTemplates] parses a campaign's subject (text/template),
// plain-text body (text/template) and HTML body (html/template, escaped)
// and dry-executes them against sample [Data], so that a template that does
// not parse or names a field that does not exist is reported with its file
// and line when the configuration is loaded, never at send time. Built-in
// templates are embedded: one email per purpose (welcome, winback, generic,
// reminder; [Purposes]) in each of [Locales], with their strings in a
// catalog per locale (locale.go), amounts and dates written for the locale
// ([FormatAmountIn], [FormatExpiryIn]), the coupon's [Conditions], and a
// footer with the shop's address and the recipient's unsubscribe link.
// They read right without a first name ([Data.NameOr], Data.Greeting) and
// keep the code on one line on a phone. [Build] turns a [Message] into RFC 5322
// bytes; values that come from data (names, subjects) can never add header
// fields: CR, LF and other control characters are stripped from names and
// subjects, addresses, Message-IDs and URLs containing them are rejected,
// and non-ASCII text is RFC 2047 encoded. No header line exceeds RFC 5322's
// 998 bytes whatever the data: display names are cut to 100 characters,
// subjects fold (long words as encoded-words), and addresses, Message-IDs
// and URLs too long for a line are rejected.
//
// Delivery: [SMTPSender] keeps a configurable number of SMTP connections open
// across many messages, obeys a message rate and per-hour and per-day caps,
// retries temporary failures with backoff and classifies every outcome as
// [Delivered], [TempFailure], [PermFailure] or [OutcomeUnknown] (handed over,
// no reply: never retried, so never sent twice) with the server's reply.
// [Outbox] writes each message as an .eml file (atomic rename, mode 0600),
// byte for byte what SMTP would have sent. Both report exactly one [Result]
// per message, never concurrently, as soon as it is known.
//
// The package imports neither woo nor campaign; callers declare the small
// interface they need.
package mailer
