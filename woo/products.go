package woo

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// namesPerRequest is how many ids one include= request asks for: the
// endpoints' largest page.
const namesPerRequest = 100

// named is the part of a product or a product category that names it.
type named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ProductNames returns the names of the products ids (wc/v3/products with
// include=), so that an email can say which products a coupon is limited
// to. A product the store does not return (deleted, or a store without
// products such as the sandbox) is missing from the map; callers name it
// by id.
func (c *Client) ProductNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	return c.names(ctx, "products", ids)
}

// CategoryNames returns the names of the product categories ids
// (wc/v3/products/categories with include=); see ProductNames.
func (c *Client) CategoryNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	return c.names(ctx, "products/categories", ids)
}

// names reads the names of ids from a listing endpoint that takes include=.
func (c *Client) names(ctx context.Context, path string, ids []int64) (map[int64]string, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[int64]string, len(ids))
	for chunk := range slices.Chunk(ids, namesPerRequest) {
		parts := make([]string, len(chunk))
		for i, id := range chunk {
			if id <= 0 {
				return nil, fmt.Errorf("woo: %s id %d: ids are positive", path, id)
			}
			parts[i] = strconv.FormatInt(id, 10)
		}
		q := url.Values{"include": {strings.Join(parts, ",")}, "per_page": {strconv.Itoa(namesPerRequest)}}
		var page []named
		if _, err := c.do(ctx, classSafe, http.MethodGet, c.wcURL(path, q), nil, &page); err != nil {
			return nil, err
		}
		for _, p := range page {
			// WordPress stores term and post titles HTML-escaped
			// ("Brot &amp; Kuchen"); the email escapes them itself.
			name := strings.TrimSpace(html.UnescapeString(p.Name))
			if slices.Contains(chunk, p.ID) && name != "" {
				out[p.ID] = name
			}
		}
	}
	return out, nil
}
