package campaign

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReportFormats returns the formats WriteReport writes.
func ReportFormats() []string { return []string{"table", "csv", "json", "html"} }

// WriteReport writes rep to w in format (one of ReportFormats).
func WriteReport(w io.Writer, rep Report, format string) error {
	switch format {
	case "table", "":
		return WriteReportTable(w, rep)
	case "csv":
		return WriteReportCSV(w, rep)
	case "json":
		return WriteReportJSON(w, rep)
	case "html":
		return WriteReportHTML(w, rep)
	}
	return fmt.Errorf("report: unknown format %q (want one of %s)", format, strings.Join(ReportFormats(), ", "))
}

// reportColumns are the header of the table and CSV formats, in order.
var reportColumns = []string{
	"campaign", "issued", "emailed", "failed", "redeemed", "redemption_rate",
	"orders", "revenue", "discount_cost", "currency", "median_days_to_redeem",
	"use_returned", "expired", "deleted_in_store", "changed_in_store", "pruned", "reminded", "last_sync",
}

func reportRow(c CampaignReport, rate string, lastSync string) []string {
	med := "-"
	if c.MedianDaysToRedeem != nil {
		med = strconv.FormatFloat(*c.MedianDaysToRedeem, 'f', 1, 64)
	}
	return []string{
		c.Campaign, strconv.Itoa(c.Issued), strconv.Itoa(c.Emailed), strconv.Itoa(c.Failed),
		strconv.Itoa(c.Redeemed), rate, strconv.Itoa(c.Orders), c.Revenue.String(), c.DiscountCost.String(),
		c.Currency, med, strconv.Itoa(c.UseReturned), strconv.Itoa(c.Expired), strconv.Itoa(c.DeletedInStore),
		strconv.Itoa(c.ChangedInStore), strconv.Itoa(c.Pruned), strconv.Itoa(c.Reminded), lastSync,
	}
}

// WriteReportCSV writes rep as CSV with a header row, one campaign a row;
// the redemption rate is a fraction (0.25), amounts are decimal strings.
// Text cells are made spreadsheet-safe (SpreadsheetSafe).
func WriteReportCSV(w io.Writer, rep Report) error {
	cw := NewCSVWriter(w)
	if err := cw.Write(reportColumns); err != nil {
		return err
	}
	for _, c := range rep.Campaigns {
		rate := strconv.FormatFloat(c.RedemptionRate, 'f', 4, 64)
		last := ""
		if !c.LastSync.IsZero() {
			last = c.LastSync.UTC().Format(time.RFC3339)
		}
		if err := cw.Write(reportRow(c, rate, last)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteReportJSON writes rep as indented JSON.
func WriteReportJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

//go:embed report.html.tmpl
var reportHTMLSource string

var reportHTMLTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"num": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"median": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return strconv.FormatFloat(*p, 'f', 1, 64)
	},
	"when": HumanTime,
}).Parse(reportHTMLSource))

// WriteReportHTML writes rep as one self-contained HTML page: inline CSS, an
// inline SVG bar chart of codes issued and redeemed per day for each
// campaign, the summary table and each campaign's daily table. The page
// loads nothing from anywhere.
func WriteReportHTML(w io.Writer, rep Report) error {
	type section struct {
		CampaignReport
		Anchor string // a valid HTML id: campaign names may hold spaces
		Chart  svgChart
	}
	data := struct {
		Report
		Sections []section
		Loc      *time.Location // the zone times are shown in
	}{Report: rep, Loc: rep.location()}
	for _, c := range rep.Campaigns {
		data.Sections = append(data.Sections, section{CampaignReport: c, Anchor: anchorID(c.Campaign, len(data.Sections)),
			Chart: buildChart(c.Daily)})
	}
	var buf bytes.Buffer
	if err := reportHTMLTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// svgChart is the geometry of one campaign's chart, computed here so that
// the template only prints numbers.
type svgChart struct {
	Width, Height     int
	Left, Top         float64
	PlotW, PlotH      float64
	Bottom, Right     float64
	Bars              []svgBar
	YTicks, XLabels   []svgTick
	Empty             bool
	IssuedMax, RedMax int
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type svgTick struct {
	X, Y  float64
	Label string
}

const (
	chartWidth   = 760
	chartHeight  = 260
	chartLeft    = 48
	chartRight   = 12
	chartTop     = 16
	chartBottom  = 40
	chartXLabels = 8
)

// buildChart lays out two bars per day (issued, redeemed) on a shared
// integer y axis with a "nice" maximum.
func buildChart(days []DayCount) svgChart {
	c := svgChart{
		Width: chartWidth, Height: chartHeight, Left: chartLeft, Top: chartTop,
		PlotW: chartWidth - chartLeft - chartRight, PlotH: chartHeight - chartTop - chartBottom,
	}
	c.Bottom = c.Top + c.PlotH
	c.Right = c.Left + c.PlotW
	if len(days) == 0 {
		c.Empty = true
		return c
	}
	peak := 0
	for _, d := range days {
		peak = max(peak, d.Issued, d.Redeemed)
	}
	step := niceStep(float64(max(peak, 1)) / 4)
	top := step * math.Ceil(float64(max(peak, 1))/step)
	for v := 0.0; v <= top+step/2; v += step {
		c.YTicks = append(c.YTicks, svgTick{X: c.Left, Y: round2(c.Bottom - v/top*c.PlotH), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	slot := c.PlotW / float64(len(days))
	barW := slot * 0.4
	every := (len(days) + chartXLabels - 1) / chartXLabels
	for i, d := range days {
		x := c.Left + float64(i)*slot
		for j, bar := range []struct {
			n     int
			class string
			what  string
		}{{d.Issued, "issued", "issued"}, {d.Redeemed, "redeemed", "redeemed"}} {
			if bar.n == 0 {
				continue
			}
			h := float64(bar.n) / top * c.PlotH
			c.Bars = append(c.Bars, svgBar{
				X: round2(x + slot*0.1 + float64(j)*barW), Y: round2(c.Bottom - h), W: round2(barW), H: round2(h),
				Class: bar.class, Title: fmt.Sprintf("%s: %d %s", d.Day, bar.n, bar.what),
			})
		}
		if i%every == 0 || i == len(days)-1 && len(days) <= chartXLabels {
			c.XLabels = append(c.XLabels, svgTick{X: round2(x + slot/2), Y: c.Bottom + 16, Label: d.Day})
		}
	}
	return c
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten, at least 1.
func niceStep(x float64) float64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// anchorID makes an HTML id from a campaign name: letters, digits, '-' and
// '_' are kept, anything else becomes '-'; the position keeps ids unique.
func anchorID(name string, i int) string {
	b := []byte("campaign-" + strconv.Itoa(i+1) + "-")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b = append(b, byte(r))
		default:
			b = append(b, '-')
		}
	}
	return string(b)
}
