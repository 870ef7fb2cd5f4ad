package woo

import (
	"context"
	"iter"
)

// paginate iterates over pages: fetch is called with lo.Page = 1, 2, … (or
// from the page lo names) until the last page named by X-WP-TotalPages, an
// empty page, or (without that header) a short page. The Link header is
// never used.
func paginate[T any](ctx context.Context, lo ListOptions, fetch func(context.Context, ListOptions) ([]T, *Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		o := lo
		if o.Page <= 0 {
			o.Page = 1
		}
		if o.PerPage == 0 {
			o.PerPage = MaxPerPage
		}
		for {
			items, resp, err := fetch(ctx, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if len(items) == 0 {
				return
			}
			if resp != nil && resp.TotalPages > 0 {
				if o.Page >= resp.TotalPages {
					return
				}
			} else if len(items) < o.PerPage {
				return
			}
			o.Page++
		}
	}
}
