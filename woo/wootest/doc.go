// Package wootest is a WooCommerce-compatible sandbox store: an http.Handler
// that answers the parts of the WooCommerce REST API (wc/v3 coupons,
// customers, orders, and the wc-analytics customers report) that couponbridge
// uses, with the semantics of a real WooCommerce 11 store as documented in
// shared/woocommerce-notes.md.
//
// What it promises:
//
//   - Coupon codes are lowercased after decoding HTML entities and stripping
//     tags; a code is unique among published coupons only (trash frees it).
//   - POST /coupons answers 201 with a Location header; batches above the
//     limit (default 100 items) answer 413 and change nothing; smaller
//     batches answer 200 with per-item results in request order.
//   - Amounts are accepted as strings or numbers and returned as "10.00";
//     usage limits of 0 come back as null; null in a write is skipped;
//     email restrictions go through a port of WordPress's sanitize_email and
//     can come back as a JSON object with numeric keys; date_expires is
//     parsed the way WooCommerce parses it, traps included (an offset's
//     minutes are lost: +05:30 is read as +05:00).
//   - A create's duplicate check and its insert are apart, as on a real
//     store: with item latency two concurrent creates of one new code can
//     both succeed, and ?code= then returns only the newest. search splits
//     its terms as WordPress does.
//   - Authentication follows WooCommerce's authenticator: HTTP Basic and
//     query credentials only over TLS (or behind a trusted TLS proxy),
//     one-legged OAuth 1.0a over plain HTTP with the timestamp window and
//     nonce replay check, and the exact 401 bodies a real store sends.
//   - Orders with coupon lines count coupon usage (usage_count, used_by)
//     when they reach pending, on-hold, processing or completed; only
//     cancellation gives the use back.
//   - Faults can be injected while the store runs (SetFaults): 429 rate
//     limiting, random 5xx, latency per request and per batch item,
//     commit-then-fail, a PHP fatal error that leaves a coupon without
//     its meta (PartialSave), a 504 while PHP goes on creating
//     (KeepsRunning), HTML error pages, a host that strips the
//     Authorization header. Random faults are deterministic for a Seed.
//   - All waiting is done with timers that honour the request context, so
//     the handler also works inside testing/synctest bubbles.
//
// The store is safe for concurrent use. It can persist its data to a JSON
// file (WithDataFile) so that a sandbox survives restarts.
package wootest
