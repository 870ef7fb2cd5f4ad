// Package campaign is the domain of couponbridge: codes, coupon templates,
// recipient lists, the ledger, and the pipeline that issues personalized
// one-time coupons and emails them.
//
// # The ledger
//
// The Ledger is a SQLite file (OpenLedger) holding one row per campaign and
// recipient: code, state, store coupon id, attempts, timestamps and the last
// error. It is the source of truth: status, export and every rerun read it.
// One process at a time may open it (ErrLedgerLocked). Its schema is
// versioned by the embedded migrations/NNNN_name.sql files, applied once
// each, in order, in a transaction; later features add tables and states
// (issue_states is a lookup table, not a CHECK) by adding files.
//
// # Issuing
//
// An Issuer runs a Campaign in four stages, each resumable:
//
//  1. plan: stream the recipients, give each new one a fresh code, and
//     record planned rows, one transaction per chunk. Rerunning the same
//     campaign over the same list plans nothing new.
//  2. create: mark a batch creating, then send it. Created items record the
//     store's id; "code already exists" and unclear outcomes (timeouts, 5xx,
//     a dropped connection) are settled by looking the code up: a coupon
//     tagged with this campaign and recipient is adopted, someone else's
//     costs the row its code (a new one is chosen), a missing one is sent
//     again. Rows a killed run left creating are settled the same way before
//     anything new is sent.
//  3. verify: read the coupons back and check them against what was asked
//     (VerifyCoupon). A mismatch fails the row; its code is never emailed.
//  4. email: mark a small chunk sending, hand it to the mail sender, record
//     each outcome as it comes. Rows a killed run left sending become
//     unconfirmed: shown by status, never resent automatically.
//
// # Promises
//
// One recipient gets at most one coupon per campaign, even across crashes,
// retries and timeouts; no code is emailed before the store confirmed it and
// it was read back as asked; a rerun finishes what a killed run left, and
// every failure is recorded with its reason.
package campaign
