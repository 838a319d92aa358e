package runner

import (
	"fmt"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
)

// evaluate reads the run back from its directory (the only seam between
// stages), writes the verdict and builds the report.
func (r *run) evaluate(res *Result) (code int, v record.Verdict, report string) {
	code = ExitPass
	run, err := record.Open(r.w.Dir())
	if err != nil {
		fmt.Fprintln(r.log, "soak: read run back:", err)
		return ExitEnvironment, v, ""
	}
	v, err = checks.Evaluate(run, r.sc, checks.Options{InconclusiveFails: r.opts.InconclusiveFails})
	if err != nil {
		fmt.Fprintln(r.log, "soak: checks:", err)
		code = ExitEnvironment
	} else {
		if err := checks.Write(run.Dir, v); err != nil {
			fmt.Fprintln(r.log, "soak: write verdict:", err)
		}
		if v.Status == record.StatusFail || (r.opts.InconclusiveFails && v.Status == record.StatusInconclusive) {
			code = ExitCheckFailed
		}
	}
	if r.opts.SkipReport != nil && r.opts.SkipReport.Load() {
		fmt.Fprintln(r.log, "soak: report skipped (interrupted twice); build it with: soak report", run.Dir)
		return code, v, ""
	}
	report, err = reports.Build(run.Dir)
	if err != nil {
		fmt.Fprintln(r.log, "soak: report:", err)
	}
	return code, v, report
}
