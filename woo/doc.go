// Package woo is a client for the WooCommerce REST API (wc/v3) that is fast,
// polite and safe for bulk-creating personalized coupons.
//
// Fast: batches are split into chunks of at most 100 items (or the smaller
// limit a store announced with 413) and sent concurrently, up to a configured
// number of requests in flight.
//
// Polite: every HTTP attempt, retries included, waits on one adaptive rate
// limiter. Each 429 halves the rate (at most once per second); quiet periods
// raise it again in small steps up to the configured ceiling. Retry-After,
// RateLimit-Reset and RateLimit-Retry-After are honoured, for the retrying
// request and for every other request of the client.
//
// Safe: requests that create coupons are never retried blindly. When the store
// may have applied a create although no clear answer arrived (a timeout, a
// dropped connection, a 5xx, a garbled 2xx), the error matches
// errors.Is(err, ErrOutcomeUnknown) so the caller can reconcile by code.
// Credentials are never sent as Basic auth or query parameters over plain
// HTTP, and secrets never appear in errors or log lines.
//
// Unreachable: a request that never reached the store (refused, no such
// host, TLS handshake, reset before any answer) fails with an error that
// matches ErrUnreachable and says "store unreachable: <cause>". While the
// client has never had an answer from the store it gives up after one quick
// retry, so a store that is down from the start is reported in seconds.
//
// Settling: after an unclear create, CouponsService.FindCodes lists the
// coupons of up to a batch of codes with a search on their common prefix,
// in as few requests as the store's pages allow, and shows duplicates that
// a lookup by code hides. Client.SetLimits adjusts the limits of a
// long-lived client in place.
//
// Every date the client writes is in UTC with "Z": WordPress drops the
// minutes of offsets such as +05:30.
//
// The package follows the layout of google/go-github: NewClient with
// functional options, services sharing one struct (Coupons, Customers,
// Orders, Reports), one checkResponse that turns non-2xx answers into
// *APIError, and iterators over paginated collections that page with page=
// and X-WP-TotalPages (never the Link header, which a TLS-terminating proxy
// can send with the wrong scheme).
package woo
