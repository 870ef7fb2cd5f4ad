package campaign

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func TestMailRefusingEveryMessageBlocksTheRunWithItsReply(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("refused")
	opts := issOptions()
	opts.MailPasses = 2
	res, err := h.issuer(opts, nil, issRefusingSender{}).Run(ctx, c, issSource(t, issCSV(5)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked == nil || res.Blocked.Stage != StageEmail || res.Blocked.Left != 5 ||
		res.Blocked.Error() != "mail server refused: 451 4.3.0 try again later" {
		t.Fatalf("Blocked = %#v; want the email stage blocked, 5 left, with the server's reply", res.Blocked)
	}
	ses, err := h.ledger.StageErrors(ctx, c.Name)
	if err != nil || len(ses) != 1 || ses[0].Stage != StageEmail || !strings.Contains(ses[0].Error, "451 4.3.0") {
		t.Fatalf("StageErrors = %+v, %v; want the email stage's 451", ses, err)
	}
	// The mail server is back: the run is done, and the error is cleared.
	res, err = h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil || res.Blocked != nil || res.Count(StateEmailed) != 5 {
		t.Fatalf("second run: %v, blocked %v, %v; want all emailed, not blocked", err, res.Blocked, res.Counts)
	}
	if ses, _ := h.ledger.StageErrors(ctx, c.Name); len(ses) != 0 {
		t.Errorf("StageErrors after a clean run = %+v; want none", ses)
	}
}

func TestStoreUnreachableBlocksTheRunWithTheNetworkError(t *testing.T) {
	h := newIssHarness(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := woo.NewClient("http://"+addr,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1),
		woo.WithRetry(1, time.Millisecond, time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := issCampaign("down")
	opts := issOptions()
	opts.CreatePasses = 1
	res, err := h.issuer(opts, client.Coupons, nil).Run(t.Context(), c, issSource(t, issCSV(3)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked == nil || res.Blocked.Stage != StageCreate {
		t.Fatalf("Blocked = %v (summary %v); want the create stage blocked", res.Blocked, res.Counts)
	}
	msg := res.Blocked.Error()
	if !strings.HasPrefix(msg, "store unreachable: dial tcp "+addr) || !strings.HasSuffix(msg, "connection refused") {
		t.Errorf("cause %q; want store unreachable: dial tcp %s: connect: connection refused", msg, addr)
	}
}
