package woo

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
)

// TestProductAndCategoryNamesAskTheStoreByInclude: the names come from
// one include= request per endpoint; ids the store does not return are left
// out for the caller to name by id, and an id it was not asked for is ignored.
func TestProductAndCategoryNamesAskTheStoreByInclude(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/products", rec.wrap(jsonResponder(200,
		`[{"id":12,"name":"Sourdough loaf","price":"4.50"},{"id":99,"name":"Not asked for"}]`)))
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/products/categories", rec.wrap(jsonResponder(200,
		`[{"id":15,"name":"Brot &amp; Kuchen"},{"id":16,"name":"Sale"}]`)))
	c := newTestClient(t, mock)

	products, err := c.ProductNames(context.Background(), []int64{12, 13, 12})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int64]string{12: "Sourdough loaf"}; !maps.Equal(products, want) {
		t.Errorf("products = %v, want %v", products, want)
	}
	cats, err := c.CategoryNames(context.Background(), []int64{16, 15})
	if err != nil {
		t.Fatal(err)
	}
	if len(cats) != 2 || cats[16] != "Sale" || cats[15] != "Brot & Kuchen" {
		t.Errorf("categories = %v", cats)
	}
	req, _ := rec.request(0)
	if got := req.URL.Query().Get("include"); got != "12,13" {
		t.Errorf("include = %q, want 12,13 (sorted, once each)", got)
	}
	if req.Method != http.MethodGet || rec.count() != 2 {
		t.Errorf("%d requests, first %s; want one GET per endpoint", rec.count(), req.Method)
	}
	if none, err := c.ProductNames(context.Background(), nil); err != nil || len(none) != 0 || rec.count() != 2 {
		t.Errorf("no ids: %v, %v, %d requests", none, err, rec.count())
	}
}
