package campaign

import (
	"encoding/csv"
	"io"
)

// SpreadsheetSafe returns cell as it can be written to a CSV file that a
// spreadsheet will open: a cell that starts with '=', '+', '-', '@', a tab
// or a carriage return gets a leading single quote, so that Excel,
// LibreOffice and Google Sheets show it as text instead of evaluating it as
// a formula (OWASP's advice on CSV injection). Names and other fields come
// from customers, so every text cell this tool writes goes through here.
//
// A cell that is a plain decimal number ("-5.00", "+3", "12") is left as it
// is: a number cannot carry a formula, and amounts such as a negative net
// revenue must stay numbers that a spreadsheet sums. So is a lone "-" (the
// report's "none"). Anything else with a sign ("-2+3+cmd|' /C calc'!A0") is
// quoted.
func SpreadsheetSafe(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '@', '\t', '\r':
	case '+', '-':
		if len(cell) == 1 || isDecimal(cell[1:]) {
			return cell
		}
	default:
		return cell
	}
	return "'" + cell
}

// isDecimal reports whether s is digits with at most one '.' between them.
func isDecimal(s string) bool {
	digits, dot := 0, -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && dot < 0 && i > 0:
			dot = i
		default:
			return false
		}
	}
	return digits > 0 && dot != len(s)-1
}

// CSVWriter writes CSV files meant for spreadsheets: every cell goes
// through SpreadsheetSafe. Export, the report's CSV and the rejects file
// use it, so no file this tool writes can smuggle a formula.
type CSVWriter struct {
	w   *csv.Writer
	row []string
}

// NewCSVWriter returns a CSVWriter writing to w.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w)}
}

// Write writes one record, each cell neutralized; record is not modified.
func (c *CSVWriter) Write(record []string) error {
	c.row = c.row[:0]
	for _, cell := range record {
		c.row = append(c.row, SpreadsheetSafe(cell))
	}
	return c.w.Write(c.row)
}

// Flush writes any buffered data; Error reports whether it failed.
func (c *CSVWriter) Flush() { c.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (c *CSVWriter) Error() error { return c.w.Error() }
