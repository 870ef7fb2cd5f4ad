package campaign

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// ReportTableWidth is the width the default report table keeps within, so
// that it reads in a terminal of 100 columns (a campaign name is cut with
// "…" when it must be); WriteReportWideTable shows every column instead.
const ReportTableWidth = 100

// minCampaignWidth is the least a cut campaign name keeps.
const minCampaignWidth = 12

// WriteReportTable writes rep as an aligned table of the figures people
// look at first (one campaign a line, counts right-aligned, amounts with
// their currency), then one line per campaign with the rest: the median
// days to redeem, the codes given back, expired, deleted, changed, pruned
// and reminded (those that are not zero) and the last sync in the store's
// time zone; then any warnings. Every line fits ReportTableWidth.
func WriteReportTable(w io.Writer, rep Report) error {
	head := []string{"CAMPAIGN", "ISSUED", "EMAILED", "FAILED", "REDEEMED", "RATE", "ORDERS", "REVENUE", "DISCOUNT"}
	rows := make([][]string, 0, len(rep.Campaigns))
	for _, c := range rep.Campaigns {
		rows = append(rows, []string{
			c.Campaign, strconv.Itoa(c.Issued), strconv.Itoa(c.Emailed), strconv.Itoa(c.Failed),
			strconv.Itoa(c.Redeemed), fmt.Sprintf("%.1f%%", c.RedemptionRate*100), strconv.Itoa(c.Orders),
			moneyText(c.Revenue, c.Currency), moneyText(c.DiscountCost, c.Currency),
		})
	}
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	const gap = 2
	rest := 0
	for _, wd := range widths[1:] {
		rest += gap + wd
	}
	if widths[0]+rest > ReportTableWidth {
		widths[0] = max(minCampaignWidth, ReportTableWidth-rest)
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, cell := range cells {
			if i > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			if i == 0 {
				cell = cutText(cell, widths[0])
				b.WriteString(cell)
				if len(cells) > 1 {
					b.WriteString(strings.Repeat(" ", widths[0]-utf8.RuneCountInString(cell)))
				}
				continue
			}
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)))
			b.WriteString(cell)
		}
		b.WriteByte('\n')
	}
	line(head)
	for _, r := range rows {
		line(r)
	}
	if len(rep.Campaigns) > 0 {
		b.WriteByte('\n')
	}
	loc := rep.location()
	for _, c := range rep.Campaigns {
		var parts []string
		if c.MedianDaysToRedeem != nil {
			parts = append(parts, "median "+strconv.FormatFloat(*c.MedianDaysToRedeem, 'f', 1, 64)+" days to redeem")
		}
		for _, f := range []struct {
			n    int
			what string
		}{
			{c.UseReturned, "uses given back"}, {c.Expired, "expired"}, {c.DeletedInStore, "deleted in the store"},
			{c.ChangedInStore, "changed in the store"}, {c.Pruned, "pruned"}, {c.Reminded, "reminded"},
		} {
			if f.n > 0 {
				parts = append(parts, strconv.Itoa(f.n)+" "+f.what)
			}
		}
		if c.LastSync.IsZero() {
			parts = append(parts, "never synced")
		} else {
			parts = append(parts, "last sync "+HumanTime(c.LastSync, loc))
		}
		wrapLine(&b, c.Campaign+": "+strings.Join(parts, ", ")+".", ReportTableWidth)
	}
	for _, c := range rep.Campaigns {
		for _, warn := range c.Warnings {
			wrapLine(&b, "warning: "+c.Campaign+": "+warn, ReportTableWidth)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteReportWideTable writes rep as an aligned table with every column of
// the CSV format (about 220 characters wide), followed by any warnings.
func WriteReportWideTable(w io.Writer, rep Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := make([]string, len(reportColumns))
	for i, c := range reportColumns {
		head[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	loc := rep.location()
	for _, c := range rep.Campaigns {
		rate := fmt.Sprintf("%.1f%%", c.RedemptionRate*100)
		fmt.Fprintln(tw, strings.Join(reportRow(c, rate, HumanTime(c.LastSync, loc)), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range rep.Campaigns {
		for _, warn := range c.Warnings {
			if _, err := fmt.Fprintf(w, "warning: %s: %s\n", c.Campaign, warn); err != nil {
				return err
			}
		}
	}
	return nil
}

// moneyText is an amount followed by its currency, when known.
func moneyText(m Money, currency string) string {
	if currency == "" {
		return m.String()
	}
	return m.String() + " " + currency
}

// cutText shortens s to at most n characters, ending with "…" when cut.
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// wrapLine writes text to b in lines of at most width characters, broken
// at spaces; lines after the first are indented by two. A word longer than
// a line is cut.
func wrapLine(b *strings.Builder, text string, width int) {
	col, indent := 0, ""
	for i, word := range strings.Fields(text) {
		word = cutText(word, width-2)
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case col+1+n > width:
			b.WriteByte('\n')
			indent = "  "
			b.WriteString(indent)
			col = len(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	b.WriteByte('\n')
}
