package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/internal/lateness"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// The test binary is also the SUT node of these tests: a real process
// that serves HTTP on the address the runner allocated, and exits after
// NODE_DIE_AFTER when set (a node that dies mid-run).
func TestMain(m *testing.M) {
	if addr := os.Getenv("RUNNER_TEST_NODE"); addr != "" {
		serveNode(addr, os.Getenv("NODE_DIE_AFTER"))
		return
	}
	if arg := os.Getenv("RUNNER_TEST_PROM_RUN"); arg != "" {
		promRun(arg)
		return
	}
	// fakebackend's GCS fake pulls in opencensus, whose stats worker starts
	// in an init and lives for the process.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

func serveNode(addr, dieAfter string) {
	if d, err := time.ParseDuration(dieAfter); err == nil {
		time.AfterFunc(d, func() { os.Exit(7) })
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
}

// fakes records what the runner did with its families.
type fakes struct {
	phasesRun      atomic.Int32
	phaseStarted   chan struct{} // closed when the first phase starts
	startOnce      sync.Once
	samples        atomic.Int32
	samplersClosed atomic.Int32
	backendsClosed atomic.Int32
	phaseFor       time.Duration // how long each fake phase runs (until ctx ends if longer)
}

func newFakes(phaseFor time.Duration) *fakes {
	return &fakes{phaseStarted: make(chan struct{}), phaseFor: phaseFor}
}

// fakePhase sleeps its duration, or until cancelled, as a quiet phase does.
type fakePhase struct{ f *fakes }

var _ load.Phase = fakePhase{}

func (p fakePhase) Run(ctx context.Context, env load.Env) (record.PhaseResult, error) {
	p.f.phasesRun.Add(1)
	p.f.startOnce.Do(func() { close(p.f.phaseStarted) })
	res := record.PhaseResult{Phase: env.Phase, Kind: "fake", Start: time.Now()}
	select {
	case <-time.After(p.f.phaseFor):
	case <-ctx.Done():
	}
	res.End = time.Now()
	return res, nil
}

// fakeSampler reports a node with a steady 10 fds.
type fakeSampler struct{ f *fakes }

var _ sampler = fakeSampler{}

func (s fakeSampler) Sample(_ context.Context, now time.Time) (record.Sample, []record.Conn) {
	s.f.samples.Add(1)
	return record.Sample{Time: now, FDs: &record.FDs{Total: 10, ByType: map[string]int{record.FDSocket: 2}}}, nil
}
func (s fakeSampler) Close() []record.Conn { s.f.samplersClosed.Add(1); return nil }
func (fakeSampler) Method() string         { return "fake" }
func (fakeSampler) FDMethod() string       { return "fake" }
func (fakeSampler) EventsMethod() string   { return probes.EventsPolling }
func (fakeSampler) EventsFallback() string { return "" }

// fakeBackend serves nothing; it counts Close.
type fakeBackend struct {
	f    *fakes
	kind string
}

var _ fakebackend.Backend = (*fakeBackend)(nil)

func (b *fakeBackend) Start(context.Context, string) error { return nil }
func (b *fakeBackend) URL() string                         { return "http://127.0.0.1:1" }
func (b *fakeBackend) Kind() string                        { return b.kind }
func (b *fakeBackend) Live() fakebackend.Counts            { return fakebackend.Counts{} }
func (b *fakeBackend) SetFaults(*scenarios.Faults)         {}
func (b *fakeBackend) SetPhase(string)                     {}
func (b *fakeBackend) Close(context.Context) error         { b.f.backendsClosed.Add(1); return nil }

// runFake runs a scenario of one real node (this binary) and two phases
// with the fake families.
func runFake(t *testing.T, ctx context.Context, f *fakes, nodeEnv string) Result {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`name: fake
interval: 100ms
backends: {s3: {kind: s3}}
nodes:
  sut:
    command: [%q]
    env: {RUNNER_TEST_NODE: "{{.Nodes.sut.Addr}}"%s}
    stop_grace: 1s
phases:
  - {name: one, quiet: {duration: 1s}}
  - {name: two, quiet: {duration: 1s}}
expect:
  - max: {series: fds, value: 100}
`, bin, nodeEnv)
	sc, err := scenarios.ParseScenario("fake.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	skip := make(chan struct{})
	close(skip) // no report: these tests are about the lifecycle
	res, err := Run(ctx, Options{Scenario: sc, ScenarioYAML: []byte(text), ScenarioPath: "fake.yaml", OutDir: t.TempDir(),
		ProgressMode: "quiet", SkipReport: skip,
		newPhase:   func(*scenarios.Phase) (load.Phase, error) { return fakePhase{f}, nil },
		newSampler: func(probes.Target, ...probes.Option) (sampler, error) { return fakeSampler{f}, nil },
		newBackend: func(_ string, cfg *scenarios.Backend, _ record.Sink) (fakebackend.Backend, error) {
			return &fakeBackend{f: f, kind: cfg.Kind}, nil
		}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// checkTornDown: teardown ran, whatever ended the run: the sampler and the
// backend are closed, the node is stopped and meta.json has the end.
func checkTornDown(t *testing.T, f *fakes, res Result, ended string) {
	t.Helper()
	if got := f.samplersClosed.Load(); got != 1 {
		t.Errorf("samplers closed %d times, want 1", got)
	}
	if got := f.backendsClosed.Load(); got != 1 {
		t.Errorf("backends closed %d times, want 1", got)
	}
	run, err := record.Open(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Meta.Ended != ended || run.Meta.End.IsZero() || run.Meta.ExitCode != res.ExitCode {
		t.Errorf("meta: ended %q at %v, exit %d; want %q, an end, exit %d", run.Meta.Ended, run.Meta.End, run.Meta.ExitCode, ended, res.ExitCode)
	}
	// The timer lateness meter ran for the run, whatever ended it (how
	// many wake-ups and how late depends on the machine: not asserted).
	if tl := run.Meta.TimerLateness; tl == nil || tl.StepMs != lateness.DefaultStep.Milliseconds() || tl.MaxMs < 0 {
		t.Errorf("meta: timer lateness %+v, want one measured every %s", tl, lateness.DefaultStep)
	}
	pid := run.Meta.Nodes["sut"].PID
	if pid <= 0 {
		t.Fatalf("no pid for the node in meta: %+v", run.Meta.Nodes)
	}
	// Stopped and reaped: signal 0 finds no process.
	if err := syscallKill(pid); err == nil {
		t.Errorf("node pid %d still runs after teardown", pid)
	}
}

func TestRunPasses(t *testing.T) {
	t.Parallel()
	f := newFakes(50 * time.Millisecond)
	res := runFake(t, context.Background(), f, "")
	if res.ExitCode != ExitPass || res.Ended != record.EndedCompleted || res.Verdict.Status != record.StatusPass {
		t.Fatalf("exit %d, ended %s, verdict %s (%s), want 0, completed, pass", res.ExitCode, res.Ended, res.Verdict.Status, res.Cause)
	}
	if got := f.phasesRun.Load(); got != 2 {
		t.Errorf("phases run %d, want 2", got)
	}
	if f.samples.Load() < 2 {
		t.Errorf("%d samples, want a first and a final one at least", f.samples.Load())
	}
	checkTornDown(t, f, res, record.EndedCompleted)
}

// A node that exits mid-phase cancels the phase at once: exit 3, with
// the node named in the cause, and the second phase never runs.
func TestNodeDeathExits3(t *testing.T) {
	t.Parallel()
	f := newFakes(time.Minute)
	start := time.Now()
	res := runFake(t, context.Background(), f, `, NODE_DIE_AFTER: "700ms"`)
	if res.ExitCode != ExitEnvironment || res.Ended != record.EndedSUTFailed || !strings.Contains(res.Cause, "sut") {
		t.Fatalf("exit %d, ended %s, cause %q; want 3, %s, naming node sut", res.ExitCode, res.Ended, res.Cause, record.EndedSUTFailed)
	}
	if got := f.phasesRun.Load(); got != 1 {
		t.Errorf("phases run %d, want 1 (the run stops at the death)", got)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("run took %s: the phase was not cancelled at the node's death", d)
	}
	checkTornDown(t, f, res, record.EndedSUTFailed)
}

// An interrupt (the context soak's signal handler cancels) ends the
// phase at once: exit 130, and teardown still runs.
func TestInterruptExits130(t *testing.T) {
	t.Parallel()
	f := newFakes(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-f.phaseStarted
		cancel()
	}()
	res := runFake(t, ctx, f, "")
	if res.ExitCode != ExitInterrupted || res.Ended != record.EndedInterrupted {
		t.Fatalf("exit %d, ended %s (%s); want 130, %s", res.ExitCode, res.Ended, res.Cause, record.EndedInterrupted)
	}
	checkTornDown(t, f, res, record.EndedInterrupted)
}

// A phase that cannot be made is an error exit, not a pass, and the
// nodes and backends started for it are still torn down.
func TestPhaseErrorTearsDown(t *testing.T) {
	t.Parallel()
	f := newFakes(0)
	bin, _ := os.Executable()
	text := `name: bad
interval: 100ms
backends: {s3: {kind: s3}}
nodes:
  sut: {command: [` + strconv.Quote(bin) + `], env: {RUNNER_TEST_NODE: "{{.Nodes.sut.Addr}}"}, stop_grace: 1s}
phases: [{name: one, quiet: {duration: 1s}}]
`
	sc, err := scenarios.ParseScenario("bad.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	skip := make(chan struct{})
	close(skip)
	res, err := Run(context.Background(), Options{Scenario: sc, ScenarioYAML: []byte(text), OutDir: t.TempDir(), ProgressMode: "quiet", SkipReport: skip,
		newPhase:   func(*scenarios.Phase) (load.Phase, error) { return nil, errors.New("no such phase") },
		newSampler: func(probes.Target, ...probes.Option) (sampler, error) { return fakeSampler{f}, nil },
		newBackend: func(_ string, cfg *scenarios.Backend, _ record.Sink) (fakebackend.Backend, error) {
			return &fakeBackend{f: f, kind: cfg.Kind}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != ExitEnvironment || res.Ended != record.EndedError || !strings.Contains(res.Cause, "no such phase") {
		t.Fatalf("exit %d, ended %s, cause %q; want 3, error, the phase's error", res.ExitCode, res.Ended, res.Cause)
	}
	checkTornDown(t, f, res, record.EndedError)
}

// syscallKill sends signal 0: nil while the process exists.
func syscallKill(pid int) error { return syscall.Kill(pid, 0) }
