package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
)

// evaluate reads the run back from its directory (the only seam between
// stages), writes the verdict and builds the report. A verdict or report
// that cannot be written is lost data.
func (r *run) evaluate() (code int, v record.Verdict, report string) {
	code = ExitPass
	run, err := record.Open(r.w.Dir())
	if err != nil {
		r.lose("read run back", err)
		return ExitEnvironment, v, ""
	}
	// Judged by the scenario read back (scenario.yaml), exactly as
	// `soak report --recheck` judges it later.
	v, err = checks.Evaluate(run, nil, checks.Options{InconclusiveFails: r.opts.InconclusiveFails})
	if err != nil {
		r.lose("checks", err)
		code = ExitEnvironment
	} else {
		r.lose("", run.WriteVerdict(v))
		r.lose("", reports.WriteVerdict(run, v))
		switch {
		case v.Status == record.StatusError:
			code = ExitEnvironment
		case v.Status == record.StatusFail || (r.opts.InconclusiveFails && v.Status == record.StatusInconclusive):
			code = ExitCheckFailed
		}
	}
	ctx, stop := r.reportContext()
	defer stop()
	report, err = reports.BuildContext(ctx, run.Dir)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(r.log, "soak: report skipped (interrupted twice); build it with: soak report", run.Dir)
	case err != nil:
		r.lose("report", err)
	}
	return code, v, report
}

// reportContext ends when SkipReport is closed, before or during the build.
func (r *run) reportContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if r.opts.SkipReport == nil {
		return ctx, cancel
	}
	select {
	case <-r.opts.SkipReport: // already: do not even read the run back
		cancel()
		return ctx, cancel
	default:
	}
	go func() {
		select {
		case <-r.opts.SkipReport:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
