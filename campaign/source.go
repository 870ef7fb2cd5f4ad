package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// Candidate is a person a source proposes for a job's campaign, before
// suppression and caps.
type Candidate struct {
	Recipient Recipient
	// Paying is true when the store said the person already has a paid
	// order (the welcome rule skips them).
	Paying bool
	// LastPaid is the person's last paid order, when the source knows it.
	LastPaid time.Time

	// customerID is the person's WooCommerce user id, when the source
	// knows it (0: a guest or unknown); the paid check looks it up.
	customerID int64

	// queueID is the job_queue row a webhook candidate came from.
	queueID int64
	// file is the CSV file a candidate came from.
	file string
}

// SourceScan is one pass of a source during a job run.
type SourceScan struct {
	// Watermark is the source's position after the last successful run
	// ("" before the first).
	Watermark string
	// Now is the run's clock reading; windows and look-backs are measured
	// from it.
	Now time.Time
	// Loc is the store's time zone.
	Loc *time.Location
	// Logger receives the source's warnings (rejected rows, fallbacks).
	Logger *slog.Logger

	// NewWatermark is set by the source while scanning: the position to
	// store once the run has succeeded.
	NewWatermark string
	// StartWatermark is set by the source: the position the scan started
	// from. It is stored instead of NewWatermark when a cap left candidates
	// for a later run, so that they are read again.
	StartWatermark string
	// Rejected counts rows the source could not use (bad addresses).
	Rejected int

	// csvDone lists the csv files read to their end.
	csvDone []string
}

// Source finds the candidates of a job run.
type Source interface {
	// Kind names the source type: csv, new_customers, inactive_customers, webhook.
	Kind() string
	// Candidates yields the candidates of one run. An error ends the scan
	// and fails the run (its watermark is not stored).
	Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error]
}

// ---- csv ----

// CSVSource reads sign-ups from a CSV file or from every *.csv file of a
// folder another tool drops them into. Each file needs a header with an
// email column (see RecipientReader). Files are taken in name order; files
// whose name starts with '.' or that changed during the last SettleTime are
// left for a later run (they may still be being written).
//
// When DoneDir is set, a file whose every row has been planned in the
// ledger, suppressed or rejected is moved there after the planning
// transaction committed; a file with rows left by a cap stays and is read
// again next run (rows already in the campaign are then suppressed).
//
// Each file is read twice: first checked to its end, then read for its
// rows, so that none of the rows of a file that turns out unreadable is
// used. In a folder such a file (not a regular file, a bad header, a quote
// not closed, a row over MaxRecordBytes) is moved to the failed folder with
// a note NAME.error.txt saying why, a WARN is logged, and the other files
// are read: one bad file does not block the folder. A single file given as
// Path that cannot be read fails the run instead.
type CSVSource struct {
	Path    string
	DoneDir string
	// FailedDir receives the unreadable files of a folder; default "failed"
	// beside DoneDir, or in the folder when DoneDir is empty.
	FailedDir  string
	SettleTime time.Duration

	mu   sync.Mutex
	read map[string]int64 // bytes read of each file, for finish
}

// DefaultSettleTime is how long a dropped file must stay unchanged before a
// job reads it.
const DefaultSettleTime = 30 * time.Second

// Kind implements Source.
func (s *CSVSource) Kind() string { return "csv" }

// files lists the files to read at now, and whether Path is a folder.
func (s *CSVSource) files(now time.Time) ([]string, bool, error) {
	fi, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("csv source: %s does not exist: create the folder (or file) the sign-up tool drops lists into, or fix the job's source.path: %w", s.Path, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("csv source: %w", err)
	}
	if !fi.IsDir() {
		return []string{s.Path}, false, nil
	}
	entries, err := os.ReadDir(s.Path)
	if err != nil {
		return nil, true, fmt.Errorf("csv source: %w", err)
	}
	settle := s.SettleTime
	if settle == 0 {
		settle = DefaultSettleTime
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ".csv") ||
			strings.HasSuffix(strings.ToLower(name), ".rejects.csv") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // vanished meanwhile
		}
		if settle > 0 && now.Sub(info.ModTime()) < settle {
			continue
		}
		out = append(out, filepath.Join(s.Path, name))
	}
	slices.Sort(out)
	return out, true, nil
}

// Candidates implements Source.
func (s *CSVSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		files, folder, err := s.files(scan.Now)
		if err != nil {
			yield(Candidate{}, err)
			return
		}
		for _, name := range files {
			if ctx.Err() != nil {
				yield(Candidate{}, ctx.Err())
				return
			}
			if !s.readFile(name, folder, scan, yield) {
				return
			}
		}
	}
}

// readFile checks the file to its end, then yields its rows. A file of a
// folder that fails the check is moved aside and skipped.
func (s *CSVSource) readFile(name string, folder bool, scan *SourceScan, yield func(Candidate, error) bool) bool {
	f, err := OpenRegularFile(name)
	if folder && errors.Is(err, fs.ErrNotExist) {
		return true // taken away since the listing
	}
	if err != nil {
		err = &RecipientFileError{File: name, Err: unwrapPath(err)}
		if folder {
			s.refuse(name, err, scan)
			return true
		}
		return yield(Candidate{}, fmt.Errorf("csv source: %w", err))
	}
	defer f.Close()
	st, err := CheckRecipients(f, name)
	if err != nil {
		if folder {
			f.Close() // before the move: some systems will not move an open file
			s.refuse(name, err, scan)
			return true
		}
		return yield(Candidate{}, fmt.Errorf("csv source: %w", err))
	}
	// The second pass reads exactly the bytes checked, from the same open
	// file: rows appended meanwhile are not read unchecked, and finish
	// leaves a file that grew for the next run.
	rr, err := NewRecipientReader(io.NewSectionReader(f, 0, st.Bytes), name)
	if err != nil {
		return yield(Candidate{}, fmt.Errorf("csv source: %w", err))
	}
	for {
		rcp, rej, err := rr.Next()
		if err == io.EOF {
			scan.csvDone = append(scan.csvDone, name)
			s.mu.Lock()
			if s.read == nil {
				s.read = map[string]int64{}
			}
			s.read[name] = st.Bytes
			s.mu.Unlock()
			return true
		}
		if err != nil {
			return yield(Candidate{}, fmt.Errorf("csv source: %w", err))
		}
		if rej != nil {
			scan.Rejected++
			scan.Logger.Warn("csv source: row rejected", "file", name, "line", rej.Line, "reason", rej.Reason)
			continue
		}
		if !yield(Candidate{Recipient: rcp, file: name}, nil) {
			return false
		}
	}
}

// failedDir is where unreadable files of the folder go.
func (s *CSVSource) failedDir() string {
	switch {
	case s.FailedDir != "":
		return s.FailedDir
	case s.DoneDir != "":
		return filepath.Join(filepath.Dir(filepath.Clean(s.DoneDir)), "failed")
	}
	return filepath.Join(s.Path, "failed")
}

// refuse moves the unreadable file name of the folder to the failed folder
// with a note of why, and logs a WARN. If it cannot be moved it stays, is
// checked and refused again next run, and the other files still go on.
func (s *CSVSource) refuse(name string, cause error, scan *SourceScan) {
	attrs := []any{"file", name, "err", cause}
	var fe *RecipientFileError
	if errors.As(cause, &fe) {
		if fe.Line > 0 {
			attrs = append(attrs, "line", fe.Line)
		}
		if fe.Field != "" {
			attrs = append(attrs, "field", fe.Field)
		}
	}
	dir := s.failedDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		scan.Logger.Warn("csv source: unreadable file skipped; cannot create the failed folder", append(attrs, "move_err", err)...)
		return
	}
	dst := freeName(filepath.Join(dir, filepath.Base(name)))
	if err := os.Rename(name, dst); err != nil {
		scan.Logger.Warn("csv source: unreadable file skipped; cannot move it to the failed folder", append(attrs, "move_err", err)...)
		return
	}
	note := dst + ".error.txt"
	if _, err := WriteFileAtomic(note, true, func(w io.Writer) (int, error) {
		return io.WriteString(w, refusalNote(name, cause, scan.Now))
	}); err != nil {
		attrs = append(attrs, "note_err", err)
	}
	scan.Logger.Warn("csv source: unreadable file moved to the failed folder; fix it and drop it again", append(attrs, "moved_to", dst)...)
}

// refusalNote is the text of NAME.error.txt.
func refusalNote(name string, cause error, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "couponbridge did not read this file: no row of it was used.\n\n")
	fmt.Fprintf(&b, "file: %s\n", name)
	var fe *RecipientFileError
	if errors.As(cause, &fe) {
		if fe.Line > 0 {
			fmt.Fprintf(&b, "line: %d\n", fe.Line)
		}
		if fe.Field != "" {
			fmt.Fprintf(&b, "field: %s\n", fe.Field)
		}
		fmt.Fprintf(&b, "error: %v\n", fe.Err)
	} else {
		fmt.Fprintf(&b, "error: %v\n", cause)
	}
	if !now.IsZero() {
		fmt.Fprintf(&b, "at: %s\n", now.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "\nFix the file (a header row with an email column, quotes closed, rows under %d KiB) and drop it into the folder again.\n", MaxRecordBytes>>10)
	return b.String()
}

// freeName returns dst, or dst with a timestamp before its extension when
// dst exists already.
func freeName(dst string) string {
	if _, err := os.Lstat(dst); err == nil {
		ext := filepath.Ext(dst)
		dst = strings.TrimSuffix(dst, ext) + "." + time.Now().UTC().Format("20060102T150405.000000000") + ext
	}
	return dst
}

// finish moves the files that were read completely and have no row left
// for a later run into DoneDir. It runs after the planning transaction.
func (s *CSVSource) finish(files map[string]bool, logger *slog.Logger) error {
	if s.DoneDir == "" || len(files) == 0 {
		return nil
	}
	if err := os.MkdirAll(s.DoneDir, 0o700); err != nil {
		return fmt.Errorf("csv source: done folder: %w", err)
	}
	var errs []error
	names := make([]string, 0, len(files))
	for n, complete := range files {
		if complete {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	s.mu.Lock()
	read := s.read
	s.read = nil
	s.mu.Unlock()
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && fi.Size() > read[n] {
			// Rows were added after this run read it: they are read next
			// run, and the rows planned now are then suppressed.
			logger.Info("csv source: file grew while it was read; left for the next run", "file", n)
			continue
		}
		dst := freeName(filepath.Join(s.DoneDir, filepath.Base(n)))
		if err := os.Rename(n, dst); err != nil {
			errs = append(errs, fmt.Errorf("csv source: move %s to done: %w", n, err))
			continue
		}
		logger.Info("csv source: file done", "file", n, "moved_to", dst)
	}
	return errors.Join(errs...)
}

// ---- new_customers ----

// CustomerLister lists registered customers: satisfied by *woo.CustomersService.
type CustomerLister interface {
	All(ctx context.Context, opts *woo.CustomerListOptions) iter.Seq2[woo.Customer, error]
}

// NewCustomersSource proposes customers registered in the store since the
// last successful run. The first run looks back Lookback (default 24h),
// never the whole history.
type NewCustomersSource struct {
	Customers CustomerLister
	Lookback  time.Duration
}

// DefaultLookback is the first run's look-back of a new_customers job.
const DefaultLookback = 24 * time.Hour

// watermarkOverlap re-reads a little before the watermark: registrations
// committed in the same second as the newest one seen are not missed, and
// those already planned are suppressed by the ledger.
const watermarkOverlap = time.Minute

// Kind implements Source.
func (s *NewCustomersSource) Kind() string { return "new_customers" }

// Candidates implements Source. The watermark is the newest registration
// time seen (RFC 3339, UTC).
func (s *NewCustomersSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		lookback := s.Lookback
		if lookback <= 0 {
			lookback = DefaultLookback
		}
		since := scan.Now.Add(-lookback)
		newest := time.Time{}
		if scan.Watermark != "" {
			w, err := time.Parse(time.RFC3339Nano, scan.Watermark)
			if err != nil {
				yield(Candidate{}, fmt.Errorf("new_customers: stored watermark %q: %w", scan.Watermark, err))
				return
			}
			since, newest = w.Add(-watermarkOverlap), w
		}
		scan.NewWatermark = formatWatermark(newest, since)
		scan.StartWatermark = scan.NewWatermark
		for c, err := range s.Customers.All(ctx, &woo.CustomerListOptions{RegisteredAfter: since}) {
			if err != nil {
				yield(Candidate{}, fmt.Errorf("new_customers: %w", err))
				return
			}
			if c.DateCreatedGMT != nil && c.DateCreatedGMT.After(newest) {
				newest = c.DateCreatedGMT.Time
				scan.NewWatermark = formatWatermark(newest, since)
			}
			email := c.Email
			if email == "" {
				email = c.Billing.Email
			}
			norm, err := NormalizeEmail(email)
			if err != nil {
				scan.Rejected++
				scan.Logger.Warn("new_customers: customer skipped", "customer_id", c.ID, "reason", "email "+err.Error())
				continue
			}
			first, last := c.FirstName, c.LastName
			if first == "" && last == "" {
				first, last = c.Billing.FirstName, c.Billing.LastName
			}
			cand := Candidate{Recipient: Recipient{Email: norm, FirstName: CleanName(first), LastName: CleanName(last)},
				Paying: c.IsPayingCustomer, customerID: c.ID}
			if !yield(cand, nil) {
				return
			}
		}
	}
}

// formatWatermark is the newest instant seen, or since when nothing was seen
// (the next run then starts where this one looked).
func formatWatermark(newest, since time.Time) string {
	if newest.IsZero() {
		newest = since
	}
	return newest.UTC().Format(time.RFC3339Nano)
}

// ---- inactive_customers ----

// OrderScanner iterates over orders: satisfied by *woo.OrdersService.
type OrderScanner interface {
	All(ctx context.Context, opts *woo.OrderListOptions) iter.Seq2[woo.Order, error]
}

// CustomerReport reads the analytics customers report: satisfied by
// *woo.ReportsService.
type CustomerReport interface {
	CustomersAnalytics(ctx context.Context, opts *woo.AnalyticsCustomersOptions) iter.Seq2[woo.AnalyticsCustomer, error]
}

// InactiveCustomersSource proposes customers, registered or guest, whose
// last paid order lies between MaxDays and MinDays ago and who placed at
// least MinOrders paid orders: the win-back audience.
//
// It asks the analytics customers report when the store has it (one row
// per customer, guests included) and otherwise scans the orders page by
// page, keeping one small aggregate per customer seen in the last MaxDays,
// never the orders. Customers are keyed by billing email, lowercased. Paid
// means PaidStatuses.
type InactiveCustomersSource struct {
	Orders    OrderScanner
	Report    CustomerReport // nil: always scan orders
	MinDays   int            // default 60
	MaxDays   int            // default 90
	MinOrders int            // default 1
}

// Default win-back window.
const (
	DefaultMinDays   = 60
	DefaultMaxDays   = 90
	DefaultMinOrders = 1
)

// Kind implements Source.
func (s *InactiveCustomersSource) Kind() string { return "inactive_customers" }

func (s *InactiveCustomersSource) window(now time.Time) (from, to time.Time, minOrders int) {
	minD, maxD, minO := s.MinDays, s.MaxDays, s.MinOrders
	if minD <= 0 {
		minD = DefaultMinDays
	}
	if maxD <= 0 {
		maxD = DefaultMaxDays
	}
	if minO <= 0 {
		minO = DefaultMinOrders
	}
	return now.AddDate(0, 0, -maxD), now.AddDate(0, 0, -minD), minO
}

// Candidates implements Source.
func (s *InactiveCustomersSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		if s.Report != nil {
			fellBack := false
			yielded := false
			for c, err := range s.fromReport(ctx, scan) {
				if err != nil {
					if errors.Is(err, woo.ErrNoAnalytics) && !yielded {
						scan.Logger.Info("inactive_customers: the store has no analytics report; scanning orders")
						fellBack = true
						break
					}
					yield(Candidate{}, err)
					return
				}
				yielded = true
				if !yield(c, nil) {
					return
				}
			}
			if !fellBack {
				return
			}
		}
		for c, err := range s.fromOrders(ctx, scan) {
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

func (s *InactiveCustomersSource) fromReport(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		from, to, minOrders := s.window(scan.Now)
		loc := scan.Loc
		if loc == nil {
			loc = time.UTC
		}
		opts := &woo.AnalyticsCustomersOptions{LastOrderAfter: from.In(loc), LastOrderBefore: to.In(loc), OrdersCountMin: minOrders}
		for a, err := range s.Report.CustomersAnalytics(ctx, opts) {
			if err != nil {
				yield(Candidate{}, fmt.Errorf("inactive_customers: analytics report: %w", err))
				return
			}
			last := time.Time{}
			switch {
			case a.DateLastOrderGMT != nil:
				last = a.DateLastOrderGMT.Time
			case a.DateLastOrder != nil:
				// Site wall clock, decoded without an offset.
				w := a.DateLastOrder.Time
				last = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
			}
			// The report filters on the site's wall clock at day
			// granularity on some versions: check the exact instant again.
			if last.IsZero() || last.Before(from) || last.After(to) || a.OrdersCount < minOrders {
				continue
			}
			norm, err := NormalizeEmail(a.Email)
			if err != nil {
				scan.Rejected++
				scan.Logger.Warn("inactive_customers: customer skipped", "analytics_id", a.ID, "reason", "email "+err.Error())
				continue
			}
			first, last2 := a.FirstName, a.LastName
			if first == "" && last2 == "" && a.Name != "" {
				first, last2, _ = strings.Cut(strings.TrimSpace(a.Name), " ")
			}
			c := Candidate{Recipient: Recipient{Email: norm, FirstName: CleanName(first), LastName: CleanName(last2)},
				Paying: true, LastPaid: last}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// buyer is the per-customer aggregate of the order scan.
type buyer struct {
	first, last string
	lastPaid    time.Time
	orders      int
}

// fromOrders scans paid orders: first those of the last MaxDays (oldest
// first, so orders arriving meanwhile append to the last page instead of
// shifting pages), keeping one aggregate per billing email; then, when
// MinOrders > 1, the older orders, counting only for the customers in the
// window. Memory grows with the customers active in the last MaxDays, not
// with the orders.
func (s *InactiveCustomersSource) fromOrders(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		from, to, minOrders := s.window(scan.Now)
		recent := map[string]*buyer{}
		opts := &woo.OrderListOptions{After: from, Status: PaidStatuses, OrderBy: "date", Order: "asc"}
		for o, err := range s.Orders.All(ctx, opts) {
			if err != nil {
				yield(Candidate{}, fmt.Errorf("inactive_customers: orders: %w", err))
				return
			}
			if !isPaidStatus(o.Status) {
				continue
			}
			email, err := NormalizeEmail(o.Billing.Email)
			if err != nil {
				continue
			}
			at := orderTime(o)
			b := recent[email]
			if b == nil {
				b = &buyer{}
				recent[email] = b
			}
			b.orders++
			if !at.Before(b.lastPaid) {
				b.lastPaid = at
				if o.Billing.FirstName != "" || o.Billing.LastName != "" {
					b.first, b.last = o.Billing.FirstName, o.Billing.LastName
				}
			}
		}
		// Keep those whose last paid order is in the window: anyone who
		// bought within MinDays has a later last order and drops out here.
		inWindow := map[string]*buyer{}
		for e, b := range recent {
			if !b.lastPaid.Before(from) && !b.lastPaid.After(to) {
				inWindow[e] = b
			}
		}
		clear(recent)
		if minOrders > 1 && len(inWindow) > 0 {
			// The store compares after and before strictly and dates have
			// whole seconds: an order at exactly from belongs to this pass.
			older := &woo.OrderListOptions{Before: from.Add(time.Second), Status: PaidStatuses, OrderBy: "date", Order: "asc"}
			for o, err := range s.Orders.All(ctx, older) {
				if err != nil {
					yield(Candidate{}, fmt.Errorf("inactive_customers: orders: %w", err))
					return
				}
				if !isPaidStatus(o.Status) {
					continue
				}
				if b := inWindow[strings.ToLower(strings.TrimSpace(o.Billing.Email))]; b != nil {
					b.orders++
				}
			}
		}
		emails := make([]string, 0, len(inWindow))
		for e, b := range inWindow {
			if b.orders >= minOrders {
				emails = append(emails, e)
			}
		}
		slices.Sort(emails)
		for _, e := range emails {
			b := inWindow[e]
			c := Candidate{Recipient: Recipient{Email: e, FirstName: CleanName(b.first), LastName: CleanName(b.last)},
				Paying: true, LastPaid: b.lastPaid}
			if !yield(c, nil) {
				return
			}
		}
	}
}

// orderTime is when an order was placed (date_created_gmt): the instant the
// order filters (after, before) and the analytics report compare, so both
// paths draw the same window. date_paid is a fallback only.
func orderTime(o woo.Order) time.Time {
	if o.DateCreatedGMT != nil && !o.DateCreatedGMT.IsZero() {
		return o.DateCreatedGMT.Time
	}
	if o.DatePaidGMT != nil {
		return o.DatePaidGMT.Time
	}
	return time.Time{}
}

// ---- webhook ----

// WebhookSource proposes the people queued for a job by webhook deliveries
// (see WebhookHandler). A queued row is marked done in the transaction that
// plans or suppresses it; rows left by a cap stay queued.
type WebhookSource struct {
	Ledger *Ledger
	Job    string
	// Customers, when set, is asked at run time whether a registered
	// customer queued without a paid order has one by now (a delivery can
	// wait in the queue while the customer orders): one request per such
	// customer. Set it for jobs that skip paying customers.
	Customers CustomerLister
}

// Kind implements Source.
func (s *WebhookSource) Kind() string { return "webhook" }

// Candidates implements Source.
func (s *WebhookSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		var after int64
		for {
			items, err := s.Ledger.pendingQueue(ctx, s.Job, after, 500)
			if err != nil {
				yield(Candidate{}, err)
				return
			}
			for _, it := range items {
				after = it.ID
				r := it.Recipient
				c := Candidate{Recipient: Recipient{Email: r.Email, FirstName: r.FirstName, LastName: r.LastName},
					Paying: r.Paying, queueID: it.ID, customerID: r.CustomerID}
				if s.Customers != nil && !c.Paying && r.CustomerID > 0 {
					paying, err := s.payingNow(ctx, r)
					if err != nil {
						yield(Candidate{}, err)
						return
					}
					c.Paying = paying
				}
				if !yield(c, nil) {
					return
				}
			}
			if len(items) < 500 {
				return
			}
		}
	}
}

// payingNow asks the store whether the registered customer r has a paid
// order by now.
func (s *WebhookSource) payingNow(ctx context.Context, r QueuedRecipient) (bool, error) {
	for c, err := range s.Customers.All(ctx, &woo.CustomerListOptions{Email: r.Email, Role: "all"}) {
		if err != nil {
			return false, fmt.Errorf("webhook: checking customer %d: %w", r.CustomerID, err)
		}
		if c.ID == r.CustomerID || strings.EqualFold(c.Email, r.Email) {
			return c.IsPayingCustomer, nil
		}
	}
	return false, nil
}
