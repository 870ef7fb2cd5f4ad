package woo

import (
	"context"
	"testing"

	"github.com/jarcoal/httpmock"
)

func TestOrdersListSendsTheSearchTerm(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/orders", rec.wrap(jsonResponder(200, `[]`)))
	c := newTestClient(t, mock)
	if _, _, err := c.Orders.List(context.Background(), &OrderListOptions{Search: "ann+shop@example.com"}); err != nil {
		t.Fatal(err)
	}
	req, _ := rec.request(0)
	if got := req.URL.Query().Get("search"); got != "ann+shop@example.com" {
		t.Errorf("search = %q, want the email as given (escaped on the wire)", got)
	}
}
