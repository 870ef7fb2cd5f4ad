package woo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CouponsService manages coupons through wc/v3/coupons.
type CouponsService service

// CouponListOptions filter and page List and All.
type CouponListOptions struct {
	ListOptions
	Code          string    // exact code, case-insensitive
	Search        string    // substring search
	Include       []int64   // only these ids
	ModifiedAfter time.Time // only coupons modified after this instant
	Status        string    // e.g. publish; empty means the store's default (any but trash)
	OrderBy       string    // date, id, include, title, slug, modified
	Order         string    // asc or desc
}

func (o *CouponListOptions) values() (url.Values, error) {
	q := url.Values{}
	if o == nil {
		return q, nil
	}
	if err := o.ListOptions.apply(q); err != nil {
		return nil, err
	}
	if o.Code != "" {
		q.Set("code", o.Code)
	}
	if o.Search != "" {
		q.Set("search", o.Search)
	}
	if len(o.Include) > 0 {
		q.Set("include", joinIDs(o.Include))
	}
	if !o.ModifiedAfter.IsZero() {
		q.Set("modified_after", o.ModifiedAfter.UTC().Format(time.RFC3339))
		q.Set("dates_are_gmt", "true")
	}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.OrderBy != "" {
		q.Set("orderby", o.OrderBy)
	}
	if o.Order != "" {
		q.Set("order", o.Order)
	}
	return q, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// Create creates one coupon (POST /coupons). It is never retried blindly:
// when the store may have created the coupon without a clear answer, the
// error matches errors.Is(err, ErrOutcomeUnknown) and the caller should look
// the code up (GetByCode) before trying again. A taken code gives an error
// for which IsCodeExists is true.
func (s *CouponsService) Create(ctx context.Context, c *Coupon) (*Coupon, error) {
	if c == nil {
		return nil, errors.New("woo: Create: nil coupon")
	}
	if err := validateCoupon(c); err != nil {
		return nil, err
	}
	var out Coupon
	if _, err := s.client.do(ctx, classCreate, http.MethodPost, s.client.wcURL("coupons", nil), c, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns the coupon with id.
func (s *CouponsService) Get(ctx context.Context, id int64) (*Coupon, error) {
	if id <= 0 {
		return nil, fmt.Errorf("woo: Get: invalid coupon id %d", id)
	}
	var out Coupon
	if _, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.wcURL("coupons/"+strconv.FormatInt(id, 10), nil), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetByCode returns the published coupon whose code equals code, compared
// case-insensitively as WooCommerce does. When there is none, the error
// matches ErrNotFound and IsNotFound.
func (s *CouponsService) GetByCode(ctx context.Context, code string) (*Coupon, error) {
	if strings.TrimSpace(code) == "" {
		return nil, errors.New("woo: GetByCode: empty code")
	}
	list, _, err := s.List(ctx, &CouponListOptions{Code: code, Status: "publish", ListOptions: ListOptions{PerPage: MaxPerPage}})
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(strings.TrimSpace(code))
	for i := range list {
		if strings.ToLower(strings.TrimSpace(list[i].Code)) == want && (list[i].Status == "" || list[i].Status == "publish") {
			return &list[i], nil
		}
	}
	return nil, fmt.Errorf("woo: coupon %q: %w", code, ErrNotFound)
}

// List returns one page of coupons.
func (s *CouponsService) List(ctx context.Context, opts *CouponListOptions) ([]Coupon, *Response, error) {
	q, err := opts.values()
	if err != nil {
		return nil, nil, err
	}
	var out []Coupon
	resp, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.wcURL("coupons", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over every coupon matching opts, page by page (page= and
// X-WP-TotalPages; the Link header is never followed). Paging starts at
// opts.Page (default 1) with opts.PerPage (default 100). It stops at the
// first error, which it yields.
func (s *CouponsService) All(ctx context.Context, opts *CouponListOptions) iter.Seq2[Coupon, error] {
	var o CouponListOptions
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.ListOptions, func(ctx context.Context, lo ListOptions) ([]Coupon, *Response, error) {
		page := o
		page.ListOptions = lo
		return s.List(ctx, &page)
	})
}

// Update changes the fields set in p (PUT /coupons/<id>).
func (s *CouponsService) Update(ctx context.Context, id int64, p *CouponPatch) (*Coupon, error) {
	if id <= 0 {
		return nil, fmt.Errorf("woo: Update: invalid coupon id %d", id)
	}
	if p == nil {
		return nil, errors.New("woo: Update: nil patch")
	}
	var out Coupon
	if _, err := s.client.do(ctx, classSafe, http.MethodPut, s.client.wcURL("coupons/"+strconv.FormatInt(id, 10), nil), p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete deletes the coupon with id: permanently with force, else to the
// trash (which frees its code). It returns the coupon as it was. Delete is
// retried like a GET, so when an answer was lost a retry may end in 404
// (force) or 410 woocommerce_rest_already_trashed (trash) although the first
// attempt succeeded.
func (s *CouponsService) Delete(ctx context.Context, id int64, force bool) (*Coupon, error) {
	if id <= 0 {
		return nil, fmt.Errorf("woo: Delete: invalid coupon id %d", id)
	}
	q := url.Values{}
	q.Set("force", strconv.FormatBool(force))
	var out Coupon
	if _, err := s.client.do(ctx, classSafe, http.MethodDelete, s.client.wcURL("coupons/"+strconv.FormatInt(id, 10), q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CouponBatch is a batch request: coupons to create, coupons to update (ID
// set; every field without omitempty is sent, so pass a coupon read back and
// changed) and ids to delete permanently.
type CouponBatch struct {
	Create []Coupon
	Update []Coupon
	Delete []int64
}

// CouponBatchResult holds one BatchItem per requested item, in request
// order: Create[i] is the result of CouponBatch.Create[i].
type CouponBatchResult struct {
	Create []BatchItem
	Update []BatchItem
	Delete []BatchItem
}

// BatchItem is the result of one batch item: the coupon, or Err. Err is an
// *ItemError when the store refused the item inside a 200 answer, or the
// error of the item's whole chunk, which matches ErrOutcomeUnknown when the
// store may have applied the chunk.
type BatchItem struct {
	Coupon *Coupon
	Err    error
}

type batchOp int

const (
	opCreate batchOp = iota
	opUpdate
	opDelete
)

func (o batchOp) key() string { return [...]string{"create", "update", "delete"}[o] }

// batchRef is one item of a batch and where its result goes.
type batchRef struct {
	op  batchOp
	idx int
}

// Batch creates, updates and deletes coupons through POST /coupons/batch.
//
// The items are sent in chunks of at most the batch size (WithBatchSize, or
// the smaller limit learned from a 413), chunks concurrently up to the
// maximum concurrency. A 413 means nothing was applied: the chunk is halved,
// the smaller size remembered for later batches, and the halves are sent
// again. A chunk with creates or updates is never retried blindly; when its
// outcome is unclear every item of the chunk gets an error matching
// ErrOutcomeUnknown. The returned error is only for a problem found before
// anything was sent; per-item problems are in the result.
func (s *CouponsService) Batch(ctx context.Context, b *CouponBatch) (*CouponBatchResult, error) {
	if b == nil {
		return nil, errors.New("woo: Batch: nil batch")
	}
	for i := range b.Create {
		if err := validateCoupon(&b.Create[i]); err != nil {
			return nil, fmt.Errorf("woo: Batch: create item %d: %w", i, err)
		}
	}
	for i := range b.Update {
		if b.Update[i].ID <= 0 {
			return nil, fmt.Errorf("woo: Batch: update item %d (code %q) has no id", i, b.Update[i].Code)
		}
	}
	for i, id := range b.Delete {
		if id <= 0 {
			return nil, fmt.Errorf("woo: Batch: delete item %d: invalid id %d", i, id)
		}
	}
	res := &CouponBatchResult{
		Create: make([]BatchItem, len(b.Create)),
		Update: make([]BatchItem, len(b.Update)),
		Delete: make([]BatchItem, len(b.Delete)),
	}
	refs := make([]batchRef, 0, len(b.Create)+len(b.Update)+len(b.Delete))
	for i := range b.Create {
		refs = append(refs, batchRef{opCreate, i})
	}
	for i := range b.Update {
		refs = append(refs, batchRef{opUpdate, i})
	}
	for i := range b.Delete {
		refs = append(refs, batchRef{opDelete, i})
	}
	size := s.client.batchLimit()
	var chunks [][]batchRef
	for len(refs) > 0 {
		n := min(size, len(refs))
		chunks = append(chunks, refs[:n])
		refs = refs[n:]
	}
	var wg sync.WaitGroup
	work := make(chan []batchRef)
	workers := min(s.client.maxConc, len(chunks))
	for range workers {
		wg.Go(func() {
			for ch := range work {
				s.sendChunk(ctx, b, res, ch)
			}
		})
	}
	for _, ch := range chunks {
		work <- ch
	}
	close(work)
	wg.Wait()
	return res, nil
}

// batchLimit is the chunk size to use now.
func (c *Client) batchLimit() int {
	if l := int(c.learnedBatch.Load()); l > 0 && l < c.batchSize {
		return l
	}
	return c.batchSize
}

// learnBatchLimit remembers a smaller batch limit.
func (c *Client) learnBatchLimit(n int) {
	for {
		cur := c.learnedBatch.Load()
		if cur != 0 && cur <= int64(n) {
			return
		}
		if c.learnedBatch.CompareAndSwap(cur, int64(n)) {
			c.logger.Info("woo: store refused a batch as too large (413); using smaller batches", "batch_size", n)
			return
		}
	}
}

// sendChunk sends one chunk and stores its results; on 413 it halves.
func (s *CouponsService) sendChunk(ctx context.Context, b *CouponBatch, res *CouponBatchResult, refs []batchRef) {
	body := map[string]any{}
	var creates, updates []Coupon
	var deletes []int64
	for _, r := range refs {
		switch r.op {
		case opCreate:
			creates = append(creates, b.Create[r.idx])
		case opUpdate:
			updates = append(updates, b.Update[r.idx])
		case opDelete:
			deletes = append(deletes, b.Delete[r.idx])
		}
	}
	class := classSafe
	if creates != nil {
		body["create"] = creates
		class = classCreate
	}
	if updates != nil {
		body["update"] = updates
		class = classCreate
	}
	if deletes != nil {
		body["delete"] = deletes
	}
	var out map[string][]json.RawMessage
	_, err := s.client.do(ctx, class, http.MethodPost, s.client.wcURL("coupons/batch", nil), body, &out)
	var ae *APIError
	if err != nil && errors.As(err, &ae) && ae.StatusCode == http.StatusRequestEntityTooLarge && !errors.Is(err, ErrOutcomeUnknown) && len(refs) > 1 {
		half := len(refs) / 2
		s.client.learnBatchLimit(half)
		s.client.stats.splits.Add(1)
		for len(refs) > 0 {
			n := min(half, len(refs))
			s.sendChunk(ctx, b, res, refs[:n])
			refs = refs[n:]
		}
		return
	}
	set := func(r batchRef, item BatchItem) {
		switch r.op {
		case opCreate:
			res.Create[r.idx] = item
		case opUpdate:
			res.Update[r.idx] = item
		case opDelete:
			res.Delete[r.idx] = item
		}
	}
	if err != nil {
		for _, r := range refs {
			set(r, BatchItem{Err: err})
		}
		return
	}
	pos := map[batchOp]int{}
	for _, r := range refs {
		i := pos[r.op]
		pos[r.op]++
		list := out[r.op.key()]
		if i >= len(list) {
			e := fmt.Errorf("woo: batch answer has %d %s results for %d items", len(list), r.op.key(), i+1)
			if r.op != opDelete {
				e = fmt.Errorf("%w: %w", ErrOutcomeUnknown, e)
			}
			set(r, BatchItem{Err: e})
			continue
		}
		item := decodeBatchItem(list[i])
		var ie *ItemError
		if errors.As(item.Err, &ie) {
			// Item errors are store text, like an answer's message.
			ie.Code, ie.Message = s.client.redact(ie.Code), s.client.redact(ie.Message)
		}
		set(r, item)
	}
}

// decodeBatchItem decodes one entry of a batch answer: a coupon, or
// {"id":0,"error":{...}}.
func decodeBatchItem(raw json.RawMessage) BatchItem {
	var probe struct {
		Error *wireError `json:"error"`
	}
	if err := json.Unmarshal(raw, &probe); err == nil && probe.Error != nil {
		w := *probe.Error
		w.Message = html.UnescapeString(w.Message)
		return BatchItem{Err: &ItemError{Code: w.Code, Message: w.Message, Status: w.status()}}
	}
	var c Coupon
	if err := json.Unmarshal(raw, &c); err != nil {
		return BatchItem{Err: &ItemError{Code: "woo_undecodable_item", Message: err.Error()}}
	}
	return BatchItem{Coupon: &c}
}
