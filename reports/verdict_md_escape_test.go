package reports

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

// TestSummaryEscapesHTML: names and messages in summary.md come from the
// scenario and the SUT; a Markdown renderer would pass their HTML through.
func TestSummaryEscapesHTML(t *testing.T) {
	v := record.Verdict{Status: record.StatusFail, RunEnded: "<b>x</b>", Checks: []record.CheckResult{{
		Name: `<img src=x onerror=alert(1)>`, Status: record.StatusFail, Node: "<script>", Layer: "a|b",
		Message: "1 < 2 & 3 > 2\n<!-- -->",
	}}}
	md := VerdictMarkdown(v)
	for _, bad := range []string{"<img", "<script", "<b>", "<!--", "a|b"} {
		if strings.Contains(md, bad) {
			t.Errorf("summary.md contains %q:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(md, "1 &lt; 2 &amp; 3 &gt; 2 &lt;!-- --&gt;") {
		t.Errorf("summary.md lost the text:\n%s", md)
	}
}
