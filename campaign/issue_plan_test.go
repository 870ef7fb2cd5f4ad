package campaign

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// issBrokenCSV is n good rows, then a line (n+2) that opens a quote it
// never closes, swallowing the rows after it.
func issBrokenCSV(n int) string {
	return issCSV(n, `late@example.com,"Late,Last,gold`, "after1@example.com,A,B,gold", "after2@example.com,A,B,gold")
}

func TestRefusedListPlansNothing(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("refused-list")
	// 1,500 good rows: more than one planning chunk (1,000) before the error.
	_, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issBrokenCSV(1500)))
	if err == nil || !strings.Contains(err.Error(), "line 1502") {
		t.Fatalf("run over a list with an unterminated quote on line 1502: err = %v; want the error naming the line", err)
	}
	if rows := h.rows(c.Name); len(rows) != 0 {
		t.Errorf("the refused list left %d rows in the ledger; want none", len(rows))
	}
	if n := h.store.CouponCreateCalls(); n != 0 {
		t.Errorf("the refused list created %d coupons", n)
	}

	// A later run of the campaign with another list issues that list only.
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, "email,first_name,last_name,tier\nann@example.com,Ann,A,gold\nbob@example.com,Bob,B,gold\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || res.Count(StateEmailed) != 2 || len(h.store.Coupons()) != 2 {
		t.Errorf("after a refused list, a 2-row list: summary %v, %d coupons; want 2 emailed and 2 coupons", res.Counts, len(h.store.Coupons()))
	}
}

func TestPlanThatOutgrowsTheCodeSpaceHalfwayPlansNothing(t *testing.T) {
	h := newIssHarness(t, nil)
	c := issCampaign("small-space")
	gen, err := NewCodeGenerator(c.Codes, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := issOptions()
	opts.PlanChunk = 100
	// Room for 200 codes, not for 300: the third chunk fails the check.
	opts.CapacityBits = gen.bits - math.Log2(250)
	_, err = h.issuer(opts, nil, nil).Run(t.Context(), c, issSource(t, issCSV(300)))
	if err == nil || !strings.Contains(err.Error(), "code space too small") {
		t.Fatalf("err = %v; want the code space check to refuse the list", err)
	}
	if rows := h.rows(c.Name); len(rows) != 0 {
		t.Errorf("a plan refused at its third chunk left %d rows; want none", len(rows))
	}
}

func TestStagedRowsOfAKilledPlanAreDiscardedByTheNextRun(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("killed-plan")
	if err := h.ledger.ensureCampaignOf(ctx, c); err != nil {
		t.Fatal(err)
	}
	// A run killed while planning left staged rows.
	var rows []plannedIssue
	for i := range 5 {
		rows = append(rows, plannedIssue{Email: fmt.Sprintf("ghost%d@example.com", i), Code: fmt.Sprintf("TEST-GHOS-T000-000%d", i)})
	}
	if _, err := h.ledger.insertIssues(ctx, c.Name, stateStaged, rows, func() (string, error) { return "", errors.New("no") }); err != nil {
		t.Fatal(err)
	}
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(3)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 3 || res.Count(StateEmailed) != 3 || len(h.store.Coupons()) != 3 {
		t.Errorf("summary %v, %d coupons; want the 3 listed recipients only, the staged rows gone", res.Counts, len(h.store.Coupons()))
	}
}
