package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/internal/lateness"
	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/sut"
)

// ErrNodeDied ends a run whose SUT node exited while it was being soaked.
var ErrNodeDied = errors.New("a SUT node died")

// run is the state of one run in progress.
type run struct {
	opts  Options
	sc    *scenarios.Scenario
	w     *record.Writer
	meta  record.Meta
	metaM sync.Mutex
	data  scenarios.TemplateData
	log   io.Writer

	backends map[string]fakebackend.Backend
	procs    map[string]*sut.Process
	samplers map[string]*nodeSampler
	prom     map[string]*promNode // remote nodes read from Prometheus at the end
	stats    load.Stats
	phase    phaseStatus
	// own is every connection soak dials (the load's, the probers'):
	// the samplers tell soak's closed ends from the nodes' by it.
	own *ownconns.Set

	// died is closed (once) when a node exits unexpectedly; deathCause says which.
	died       chan struct{}
	dieOnce    sync.Once
	deathCause string

	// abort judges the abort_on_fail checks during the run (abort.go).
	abort *aborter

	// late measures the machine's timer lateness from the nodes' start to
	// their stop (set before any goroutine of the run starts).
	late *lateness.Meter

	// lost lists data that could not be kept (lost.go).
	lostM sync.Mutex
	lost  []lostLine
}

// lateSoFar is the timer lateness measured so far: the watch and the
// progress line widen a default reclaim tolerance by it, as the check at
// the end widens it by the whole run's.
func (r *run) lateSoFar() time.Duration {
	if r.late == nil {
		return 0
	}
	t := r.late.Figures()
	return t.Max()
}

// Run runs one scenario end to end and returns how it ended. The error is
// non-nil only when no run directory could be made; every other failure is
// in Result (ExitCode, Cause) and in the run directory.
func Run(ctx context.Context, opts Options) (Result, error) {
	opts = opts.withDefaults()
	sc := opts.Scenario
	sc.ScaleDurations(opts.DurationScale)
	if opts.Shard.Count > 0 {
		if err := sc.Shard(opts.Shard); err != nil {
			return Result{ExitCode: ExitUsage, Cause: err.Error()}, err
		}
	}
	r := &run{opts: opts, sc: sc, log: opts.Log, backends: map[string]fakebackend.Backend{},
		procs: map[string]*sut.Process{}, samplers: map[string]*nodeSampler{}, prom: map[string]*promNode{}, died: make(chan struct{}),
		own: ownconns.New(ownconns.DefaultLinger)}
	if r.log == nil {
		r.log = io.Discard
	}
	r.abort = newAborter(r)
	if err := r.create(); err != nil {
		return Result{ExitCode: ExitEnvironment, Cause: err.Error()}, err
	}
	res := r.execute(ctx)
	return res, nil
}

// create makes the run directory and writes scenario.yaml and meta.json.
func (r *run) create() error {
	out := r.opts.OutDir
	if out == "" {
		out = DefaultOutDir
	}
	name := r.opts.Name
	if name == "" {
		name = r.sc.Name
	}
	start := time.Now()
	dir, err := makeRunDir(out, start.Format("20060102-150405")+"_"+sanitize(name))
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	w, err := record.Create(abs)
	if err != nil {
		return err
	}
	r.w = w
	if err := record.WriteFileAtomic(w.Path(record.ScenarioFile), r.opts.ScenarioYAML); err != nil {
		return err
	}
	host, _ := os.Hostname()
	r.meta = record.Meta{SoakVersion: Version, Scenario: r.sc.Name, ScenarioFile: r.opts.ScenarioPath, Name: name,
		Host: host, Kernel: kernelRelease(), GoVersion: runtime.Version(), Args: r.opts.Args, Start: start,
		IntervalMs: r.sc.Interval.D().Milliseconds(), DurationScale: r.opts.DurationScale,
		Isolated: r.sc.Isolate != nil, NetNS: netNS(), InconclusiveFails: r.opts.InconclusiveFails,
		Nodes: map[string]record.NodeMeta{}, Backends: map[string]record.BackendMeta{}, ProbeMethods: map[string]string{}}
	if g := r.opts.Shard; g.Count > 0 {
		r.meta.Shard = &record.ShardMeta{Index: g.Index, Count: g.Count}
	}
	r.data = scenarios.TemplateData{Nodes: map[string]scenarios.NodeAddr{}, Backends: map[string]scenarios.BackendAddr{},
		Run: scenarios.RunInfo{Dir: abs, Name: name}, Soak: r.opts.SoakBinary, Vars: r.sc.Vars,
		ScenarioDir: scenarioDir(r.opts.ScenarioPath)}
	fmt.Fprintf(r.log, "soak: run directory %s\n", abs)
	return r.writeMeta()
}

func (r *run) writeMeta() error {
	r.metaM.Lock()
	defer r.metaM.Unlock()
	return r.w.WriteMeta(r.meta)
}

func (r *run) event(kind, name, msg string, data map[string]string) {
	_ = r.w.Event(record.Event{Kind: kind, Name: name, Message: msg, Data: data})
}

func (r *run) warn(msg string) {
	fmt.Fprintln(r.log, "soak: warning:", msg)
	r.event(record.EventWarning, "", msg, nil)
}

// execute runs the stages in order and always tears down, records the
// end, and evaluates what it has.
func (r *run) execute(ctx context.Context) Result {
	res := Result{Dir: r.w.Dir(), Ended: record.EndedCompleted}
	r.event(record.EventRunStart, r.sc.Name, "", nil)
	// The machine's timer lateness over the whole run, nodes' start to
	// their stop: the reclaim check widens its default tolerance by it.
	r.late = lateness.Start(lateness.DefaultStep)
	err := r.setUp(ctx)
	if err == nil {
		err = r.runPhases(ctx)
	}
	r.tearDown()
	tl := r.late.Stop()

	switch {
	case err == nil:
	case errors.Is(err, errAborted):
		res.Ended, res.ExitCode, res.Cause = record.EndedAborted, ExitCheckFailed, r.abortCause()
	case errors.Is(err, ErrNodeDied):
		res.Ended, res.ExitCode, res.Cause = record.EndedSUTFailed, ExitEnvironment, r.deathCause
	case ctx.Err() != nil:
		res.Ended, res.ExitCode, res.Cause = record.EndedInterrupted, ExitInterrupted, "interrupted by signal"
	case errors.Is(err, errSetup):
		res.Ended, res.ExitCode, res.Cause = record.EndedError, ExitEnvironment, strings.TrimPrefix(err.Error(), errSetup.Error()+": ")
		res.SetupFailed = true
	default:
		res.Ended, res.ExitCode, res.Cause = record.EndedError, ExitEnvironment, err.Error()
	}
	r.metaM.Lock()
	r.meta.End, r.meta.Ended, r.meta.Cause = time.Now(), res.Ended, res.Cause
	r.meta.InconclusiveFails = r.opts.InconclusiveFails
	r.meta.TimerLateness = &tl
	r.metaM.Unlock()
	r.event(record.EventRunEnd, r.sc.Name, res.Cause, map[string]string{"ended": res.Ended})
	r.finish(&res)
	return res
}

// finish evaluates the checks and builds the report, then records the
// exit code. A run that failed before load still gets a report; one that
// lost data exits 3 whatever its checks said.
func (r *run) finish(res *Result) {
	_ = r.w.Sync() // a failure is kept by the Writer and shows in losses
	r.metaM.Lock()
	r.meta.Lost = r.losses()
	r.metaM.Unlock()
	r.keepMeta()
	code, verdict, report := r.evaluate()
	res.Verdict, res.ReportPath = verdict, report
	if res.ExitCode == ExitPass {
		res.ExitCode = code
	}
	r.judgeLosses(res)
	r.metaM.Lock()
	r.meta.ExitCode, r.meta.Lost, r.meta.Cause = res.ExitCode, res.Lost, res.Cause
	r.metaM.Unlock()
	r.keepMeta()
	if err := r.w.Close(); err != nil {
		r.lose("close run directory", err)
	}
	// Losses at Close come too late for meta.json, not for the exit code.
	r.judgeLosses(res)
}

// judgeLosses makes a run that lost data an error: exit 3 (an interrupted
// run keeps 130), the cause and the verdict say what is missing.
func (r *run) judgeLosses(res *Result) {
	lost := r.losses()
	if len(lost) == len(res.Lost) {
		return
	}
	res.Lost = lost
	if res.ExitCode != ExitInterrupted {
		res.ExitCode = ExitEnvironment
	}
	cause := lostCause(lost)
	if res.Cause == "" || res.Cause == res.Verdict.Cause {
		res.Cause = cause
	} else if !strings.Contains(res.Cause, cause) {
		res.Cause += "; " + cause
	}
	res.Verdict.Status, res.Verdict.Cause = record.StatusError, cause
}

// Version is soak's version, recorded in meta.json; set by cmd/soak.
var Version = "dev"

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(b))
}

func netNS() string {
	s, _ := os.Readlink("/proc/self/ns/net")
	return s
}

// maxRunDirTries bounds the "-2", "-3", ... suffixes tried when runs of
// the same name start in the same second.
const maxRunDirTries = 1000

// makeRunDir makes a new directory base (or base-2, base-3, ...) under out
// and returns its path. Mkdir, not a Stat loop: only "exists" moves on to
// the next name, every other error (out is a file, name too long, no
// permission) ends here, and two soaks starting in the same second cannot
// both take the same directory.
func makeRunDir(out, base string) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("create run directory under %s: %w", out, err)
	}
	dir := filepath.Join(out, base)
	for i := 2; i <= maxRunDirTries+1; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create run directory: %w", err)
		}
		dir = filepath.Join(out, fmt.Sprintf("%s-%d", base, i))
	}
	return "", fmt.Errorf("create run directory: %s and %d more of that name exist already", filepath.Join(out, base), maxRunDirTries)
}

// sanitize makes a run name safe as one path element: separators, spaces,
// colons and control characters (NUL included) become '-', and it is cut
// to scenarios.MaxNameBytes on a rune boundary. --name reaches here unvalidated.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' || unicode.IsControl(r) || r == utf8.RuneError {
			return '-'
		}
		return r
	}, s)
	if len(s) > scenarios.MaxNameBytes {
		cut := scenarios.MaxNameBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
