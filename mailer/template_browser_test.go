package mailer

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's headless-capable browser, or "" when it is not
// installed (.ci/run installs it).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// codeLayout is what the probe script measures in the rendered email.
type codeLayout struct {
	Viewport int     `json:"viewport"`
	Lines    int     `json:"lines"`
	Height   float64 `json:"height"`
	Line     float64 `json:"line"`
	Left     float64 `json:"left"`
	Right    float64 `json:"right"`
}

// probe is appended to the email in the test only (emails carry no
// script): it writes the code cell's layout into the page that holds the
// email's frame, which --dump-dom prints. The email is shown in a frame of
// the width under test because headless Chromium's window is never
// narrower than 500 px.
const probe = `<script>
const el = document.getElementById("coupon-code");
const range = document.createRange();
range.selectNodeContents(el);
const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
const box = range.getBoundingClientRect();
const out = parent.document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify({viewport: window.innerWidth, lines: tops.size, height: box.height,
  line: parseFloat(getComputedStyle(el).lineHeight), left: box.left, right: box.right});
parent.document.body.appendChild(out);
</script>`

var probeRE = regexp.MustCompile(`<pre id="probe">([^<]*)</pre>`)

// renderInChromium shows page in headless Chromium, width px wide, and
// returns the code's layout.
func renderInChromium(t *testing.T, chromium, page string, width int) codeLayout {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "email.html")
	email := strings.Replace(page, "</body>", probe+"</body>", 1)
	holder := `<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0;width:` + strconv.Itoa(width) +
		`px;height:1200px" srcdoc="` + html.EscapeString(email) + `"></iframe></body></html>`
	if err := os.WriteFile(file, []byte(holder), 0o600); err != nil {
		t.Fatal(err)
	}
	// A bound on a hung browser, not a speed check.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size=1400,1300", "--dump-dom", "file://"+file)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("chromium: %v\n%s", err, stderr)
	}
	m := probeRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("chromium printed no probe result:\n%.2000s", out)
	}
	var l codeLayout
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &l); err != nil {
		t.Fatalf("probe result %q: %v", m[1], err)
	}
	return l
}

// TestCodeStaysOnOneLineOnAPhone renders the built-in emails in headless
// Chromium at 375 px (a phone) and 1200 px: the code, as long as a
// prefixed three-group code gets, is one line that fits the screen, so
// it cannot be misread across a break or half hidden.
func TestCodeStaysOnOneLineOnAPhone(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run does): the email is not checked in a browser")
	}
	d := goldenDataIn("de")
	d.Code = "WELCOME-V2F3-2KHU-MAHA"
	// Every built-in email shares the code's markup: one is enough.
	for _, purpose := range []string{"welcome"} {
		_, _, page := renderBuiltin(t, purpose, "de", d)
		for _, width := range []int{375, 1200} {
			l := renderInChromium(t, chromium, page, width)
			if l.Viewport != width {
				t.Fatalf("%s at %d px: the browser's viewport is %d px", purpose, width, l.Viewport)
			}
			if l.Lines != 1 || l.Height > 1.5*l.Line {
				t.Errorf("%s at %d px: the code spans %d lines (%.0f px high, one line is %.0f px)", purpose, width, l.Lines, l.Height, l.Line)
			}
			if l.Left < 0 || l.Right > float64(width) {
				t.Errorf("%s at %d px: the code runs off the screen (%.0f..%.0f px)", purpose, width, l.Left, l.Right)
			}
		}
	}
}
