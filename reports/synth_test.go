package reports

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// synth describes a crafted run directory for tests.
type synth struct {
	nodes    []string
	layers   map[string]record.LayerMeta
	phases   []synthPhase
	interval time.Duration
	// leak makes the backend layer keep its idle connections (idle age and
	// count grow) and goroutines grow with them.
	leak bool
	// killed leaves meta.json without an end, as a SIGKILLed soak does.
	killed bool
	// maxSamples stops sampling early (0: no limit).
	maxSamples int
	// skipLayer is a layer the scenario names that no sample ever has.
	skipLayer string
	logLines  []string
	verdict   *record.Verdict
	noConns   bool
	// extraGor adds goroutines to every sample (a build that uses a few more).
	extraGor int
	scenario string
	// conns is the number of finished connections written (default 50).
	conns int
	// cycles runs the phase list this many times (default 1), like the
	// scenario's `cycles:`; wobble adds goroutines in every other cycle,
	// the cycle-to-cycle noise of a healthy run (odd cycles, from the first).
	cycles int
	wobble int
	// events adds that many kernel-events connections of the client layer,
	// every other one living 50 ms (less than a tick).
	events int
	// idleOnlyIn makes the client layer idle only during runs of this
	// phase (idle age = time since the run started, up to the layer's
	// timeout) and busy (0) elsewhere, as in an idle hold.
	idleOnlyIn string
	// bothEnds classifies every layer on every node, as the probes do: an
	// intra layer is also seen from the target's end.
	bothEnds bool
	// ledger writes the backend's ledger without a layer, as fakebackend
	// does, and names the backend in meta.json.
	ledger bool
}

// phaseAt returns the base name of the phase running el seconds in, and
// how long it had run.
func (sy synth) phaseAt(el float64) (string, float64) {
	at := 0.0
	for c := 0; c < max(sy.cycles, 1); c++ {
		for _, p := range sy.phases {
			for i := 0; i < max(p.repeat, 1); i++ {
				d := p.dur.Seconds()
				if el < at+d {
					return p.name, el - at
				}
				at += d
			}
		}
	}
	return "", 0
}

// cycleSecs is the length of one cycle of the phase list.
func (sy synth) cycleSecs() float64 {
	var d time.Duration
	for _, p := range sy.phases {
		d += time.Duration(max(p.repeat, 1)) * p.dur
	}
	return d.Seconds()
}

type synthPhase struct {
	name, kind string
	dur        time.Duration
	repeat     int
	rate       float64
}

var synthStart = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// defaultSynth is a healthy two-layer... three-layer run on one node.
func defaultSynth() synth {
	return synth{
		nodes: []string{"proxy"},
		layers: map[string]record.LayerMeta{
			"client":  {Node: "proxy", IdleTimeoutMs: 4000},
			"backend": {Node: "proxy", Peer: "s3", IdleTimeoutMs: 2000},
		},
		phases: []synthPhase{
			{name: "warm", kind: "steady", dur: 15 * time.Second, rate: 200},
			{name: "hold", kind: "idle", dur: 10 * time.Second, repeat: 2},
			{name: "rest", kind: "quiet", dur: 8 * time.Second},
		},
		cycles:   2,
		wobble:   4,
		interval: time.Second,
		logLines: []string{"listening on 127.0.0.1:8080", "GET /obj <script>alert(1)</script>"},
	}
}

// write makes the run directory and returns its path.
func (sy synth) write(t testing.TB, dir string) string {
	t.Helper()
	if err := sy.writeErr(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (sy synth) writeErr(dir string) error {
	w, err := record.Create(dir)
	if err != nil {
		return err
	}
	defer w.Close()
	scen := "synthetic"
	if sy.scenario != "" {
		scen = sy.scenario
	}
	m := record.Meta{SoakVersion: "test", Scenario: scen, Name: "synthetic", Host: "testhost",
		Kernel: "6.1.0", GoVersion: "go1.26", Start: synthStart, IntervalMs: sy.interval.Milliseconds(),
		Nodes: map[string]record.NodeMeta{}, Layers: sy.layers,
		ProbeMethods: map[string]string{"sockets": record.MethodNetlink, "goroutines": record.SourcePprof}}
	if sy.ledger {
		m.Backends = map[string]record.BackendMeta{"s3": {Kind: "s3", URL: "http://127.0.0.1:9000"}}
	}
	for _, n := range sy.nodes {
		m.Nodes[n] = record.NodeMeta{PID: 4242, Command: []string{"testsut", "--node", n}, Engine: "net/http",
			Log: filepath.Join(record.LogsDir, n+".log")}
		if err := os.WriteFile(filepath.Join(dir, record.LogsDir, n+".log"), []byte(joinLines(sy.logLines)), 0o644); err != nil {
			return err
		}
	}
	at := synthStart
	runs := map[string]int{}
	for cycle := 1; cycle <= max(sy.cycles, 1); cycle++ {
		for _, p := range sy.phases {
			for i := 1; i <= max(p.repeat, 1); i++ {
				name := p.name
				if runs[p.name]++; runs[p.name] > 1 {
					name = fmt.Sprintf("%s#%d", p.name, runs[p.name])
				}
				pm := record.PhaseMeta{Name: name, Base: p.name, Kind: p.kind, Start: at, End: at.Add(p.dur), PlannedMs: p.dur.Milliseconds(),
					Cycle: cycle, Rep: i}
				m.Phases = append(m.Phases, pm)
				if p.rate > 0 {
					n := uint64(p.rate * p.dur.Seconds())
					pr := record.PhaseResult{Phase: name, Kind: p.kind, Start: pm.Start, End: pm.End, Requests: n,
						Rate: p.rate, Throughput: p.rate * 0.99, Success: 0.99, LatencyP50: 2, LatencyP90: 4, LatencyP99: 9,
						LatencyMax: 30, Errors: map[string]int{"reset": int(n / 100)}}
					if err := record.WriteJSONAtomic(filepath.Join(dir, record.LoadDir, name+".json"), pr); err != nil {
						return err
					}
				}
				at = pm.End
			}
		}
	}
	end := at
	if !sy.killed {
		m.End, m.Ended = end, record.EndedCompleted
	} else if len(m.Phases) > 0 {
		m.Phases[len(m.Phases)-1].End = time.Time{} // it was running when soak died
	}
	if err := w.WriteMeta(m); err != nil {
		return err
	}
	n := 0
	for ts := synthStart; !ts.After(end); ts = ts.Add(sy.interval) {
		if sy.maxSamples != 0 && n >= sy.maxSamples {
			break
		}
		n++
		el := ts.Sub(synthStart).Seconds()
		for ni, node := range sy.nodes {
			if err := w.Sample(sy.sample(node, ni, el, ts)); err != nil {
				return err
			}
		}
	}
	if !sy.noConns {
		nc := sy.conns
		if nc == 0 {
			nc = 50
		}
		for i := 0; i < nc; i++ {
			op := synthStart.Add(time.Duration(i) * time.Second)
			for _, l := range []string{"client", "backend"} {
				c := record.Conn{Witness: record.WitnessKernel, Source: sy.nodes[0], Layer: l, Side: "server",
					Opened: op, Closed: op.Add(time.Duration(1+i%7) * time.Second), MaxIdleMs: 1500, IdleBeforeCloseMs: 1500,
					ClosedBy: []string{record.ClosedByServer, record.ClosedByClient, record.ClosedByTimeout}[i%3]}
				if l == "backend" {
					c.Witness = record.WitnessBackend
					if sy.ledger {
						c.Source, c.Layer = "s3", ""
					}
				}
				if err := w.Conn(c); err != nil {
					return err
				}
			}
		}
	}
	for i := range sy.events {
		op := synthStart.Add(time.Duration(i) * 100 * time.Millisecond)
		life := 3 * time.Second
		if i%2 == 1 {
			life = 50 * time.Millisecond
		}
		c := record.Conn{Witness: record.WitnessKernelEvents, Source: sy.nodes[0], Layer: "client", Side: record.SideServer,
			Opened: op, Closed: op.Add(life), IdleBeforeCloseMs: 40, MaxIdleMs: 40, ClosedBy: record.ClosedByClient}
		if err := w.Conn(c); err != nil {
			return err
		}
	}
	if sy.verdict != nil {
		if err := record.WriteJSONAtomic(filepath.Join(dir, record.VerdictFile), sy.verdict); err != nil {
			return err
		}
	}
	return w.Close()
}

func joinLines(ls []string) string {
	s := ""
	for _, l := range ls {
		s += l + "\n"
	}
	return s
}

// sample makes one tick of a node: load-shaped connection counts, idle ages
// under the timeouts (or growing ones with leak), goroutines following them.
func (sy synth) sample(node string, ni int, el float64, ts time.Time) record.Sample {
	wave := 10 + 8*math.Sin(el/7)
	sk := &record.Sockets{Method: record.MethodNetlink, Layers: map[string]*record.LayerSockets{}}
	est := 0
	for l, lm := range sy.layers {
		if l == sy.skipLayer || (len(sy.nodes) > 1 && lm.Node != node && !sy.bothEnds) {
			continue
		}
		e := int(wave) + ni
		idle := int64(math.Mod(el, float64(lm.IdleTimeoutMs)/1000) * 900)
		if sy.idleOnlyIn != "" && l == "client" {
			idle = 0
			if ph, in := sy.phaseAt(el); ph == sy.idleOnlyIn {
				idle = int64(math.Min(in, float64(lm.IdleTimeoutMs)/1000) * 1000)
			}
		}
		if sy.idleOnlyIn != "" && l == "client" {
			idle = 0
			if ph, in := sy.phaseAt(el); ph == sy.idleOnlyIn {
				idle = int64(math.Min(in, float64(lm.IdleTimeoutMs)/1000) * 1000)
			}
		}
		if sy.leak && l == "backend" {
			e += int(el / 5)
			idle = int64(el * 1000)
		}
		est += e
		sk.Layers[l] = &record.LayerSockets{
			ByState:   map[string]int{"ESTABLISHED": e, "TIME_WAIT": int(wave / 3), "CLOSE_WAIT": 0},
			Idle:      &record.IdleStats{Max: idle, P50: idle / 3, P99: idle * 9 / 10},
			IdleConns: e / 2,
		}
	}
	gor := 12 + 2*est + sy.extraGor
	if cs := sy.cycleSecs(); cs > 0 && int(el/cs)%2 == 0 {
		gor += sy.wobble
	}
	if sy.leak {
		gor += int(el) // a goroutine per second that never ends
	}
	return record.Sample{Time: ts, Node: node, PID: 4242 + ni,
		Goroutines: &record.Goroutines{Total: gor, Source: record.SourcePprof, ByClass: map[string]int{
			record.ClassServerConn: est / 2, record.ClassTransportRead: est - est/2, record.ClassTransportWrite: est - est/2,
			record.ClassOther: gor - est/2 - 2*(est-est/2)}},
		FDs:     &record.FDs{Total: 8 + est, ByType: map[string]int{record.FDSocket: est + 3, record.FDFile: 4, record.FDPipe: 1}},
		Sockets: sk,
		Process: &record.Process{RSS: uint64(20<<20 + est*64<<10), Threads: 8},
	}
}
