package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/sut"
)

// errSetup marks failures to bring the SUT or its environment up.
var errSetup = errors.New("setup failed")

func setupErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSetup, fmt.Sprintf(format, args...))
}

// setUp allocates ports, starts backends and nodes, waits for readiness
// and starts the probes.
func (r *run) setUp(ctx context.Context) error {
	note, err := load.Prepare(r.sc)
	if err != nil {
		return setupErr("%v", err)
	}
	if note != "" {
		fmt.Fprintln(r.log, "soak:", note)
	}
	for _, name := range r.sc.NodeNames() {
		n := r.sc.Nodes[name]
		if n.Attach != nil || n.Remote != nil {
			a, err := attachedAddr(name, n)
			if err != nil {
				return setupErr("%v", err)
			}
			r.data.Nodes[name] = a
			continue
		}
		ports, err := allocatePorts(n.Host, n.Ports)
		if err != nil {
			return setupErr("node %s: %v", name, err)
		}
		r.data.Nodes[name] = nodeAddr(name, n, ports)
	}
	if err := r.startBackends(ctx); err != nil {
		return err
	}
	if err := r.startNodes(ctx); err != nil {
		return err
	}
	return r.startProbes(ctx)
}

func (r *run) startBackends(ctx context.Context) error {
	for _, name := range r.sc.BackendNames() {
		cfg := r.sc.Backends[name]
		b, err := r.opts.newBackend(name, cfg, r.w)
		if err != nil {
			return setupErr("backend %s: %v", name, err)
		}
		addr := cfg.Listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if err := b.Start(ctx, addr); err != nil {
			return setupErr("backend %s: %v", name, err)
		}
		r.backends[name] = b
		access, secret := cfg.AccessKey, cfg.SecretKey
		if access == "" {
			access = fakebackend.DefaultAccessKey
		}
		if secret == "" {
			secret = fakebackend.DefaultSecretKey
		}
		r.data.Backends[name] = backendAddr(name, cfg, b.URL(), access, secret, fakebackend.DefaultRegion)
		r.meta.Backends[name] = record.BackendMeta{Kind: cfg.Kind, URL: b.URL(), IdleTimeout: cfg.IdleTimeout.D().Milliseconds()}
		r.event(record.EventBackendStart, name, b.URL(), map[string]string{"kind": cfg.Kind})
	}
	return r.writeMeta()
}

// startNodes starts every node (in name order), then waits for each to be ready.
func (r *run) startNodes(ctx context.Context) error {
	names := r.sc.NodeNames()
	specs := map[string]sut.Spec{}
	warnedOrphans := false
	for _, name := range names {
		n := r.sc.Nodes[name]
		engine, err := scenarios.Render("nodes."+name+".engine", n.Engine, r.data, nil)
		if err != nil {
			return setupErr("%v", err)
		}
		nm := record.NodeMeta{Addr: r.data.Nodes[name].Addr, Ports: r.data.Nodes[name].Ports, Engine: engine}
		if n.Remote != nil {
			// Neither started nor stopped: its samples come from elsewhere.
			nm.Remote = remoteMeta(n.Remote, r.sc.Interval.D())
			r.metaM.Lock()
			r.meta.Nodes[name] = nm
			r.metaM.Unlock()
			r.event(record.EventNodeStart, name, "", map[string]string{"remote": nm.Remote.Source, "addr": nm.Addr})
			continue
		}
		var p *sut.Process
		if n.Attach != nil {
			var err error
			if p, err = sut.Attach(ctx, name, n.Attach.PID, n.Attach.PIDFile); err != nil {
				return setupErr("%v", err)
			}
			nm.Attached = true
		} else {
			spec, err := r.nodeSpec(name, n)
			if err != nil {
				return setupErr("%v", err)
			}
			// Through the run directory's os.Root, like the node's files: a
			// node started earlier may have put a symlink at its log's path.
			if spec.LogFile, err = r.w.CreateFile(record.LogsDir, name+".log"); err != nil {
				return setupErr("node %s: log: %v", name, err)
			}
			if p, err = sut.Start(spec); err != nil {
				_ = spec.LogFile.Close() // Start may have closed it; harmless
				return setupErr("%s", withCommand(err, spec))
			}
			// Once a run: the cause is the same for every node.
			if p.Fallback != "" && !warnedOrphans {
				warnedOrphans = true
				r.warn("a node's processes may outlive soak (" + p.Fallback + "); see docs/isolation.md")
			}
			specs[name] = spec
			nm.Command, nm.Log = spec.Argv, "logs/"+name+".log"
		}
		nm.PID = p.PID
		r.procs[name] = p
		r.metaM.Lock()
		r.meta.Nodes[name] = nm
		r.metaM.Unlock()
		r.event(record.EventNodeStart, name, "", map[string]string{"pid": strconv.Itoa(p.PID), "addr": nm.Addr})
	}
	if err := r.writeMeta(); err != nil {
		return err
	}
	for _, name := range names {
		n, p := r.sc.Nodes[name], r.procs[name]
		if p == nil { // remote
			continue
		}
		ready := n.Ready
		if ready == "" && n.Attach != nil {
			// An attached process is already serving, and its address may
			// not be reachable from here (a container's own network
			// namespace): wait only on a ready URL the scenario gives.
			r.event(record.EventNodeReady, name, "", map[string]string{"after_ms": "0", "attached": "true"})
			go r.watchNode(name, p)
			continue
		}
		if ready == "" {
			ready = "tcp://" + r.data.Nodes[name].Addr
		}
		ready, err := scenarios.Render("nodes."+name+".ready", ready, r.data, nil)
		if err != nil {
			return setupErr("%v", err)
		}
		start := time.Now()
		if err := sut.WaitReady(ctx, p, ready, n.ReadyTimeout.D(), sut.ReadyOwnConns(r.own)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return setupErr("%s", withCommand(err, specs[name]))
		}
		r.event(record.EventNodeReady, name, "", map[string]string{"after_ms": strconv.FormatInt(time.Since(start).Milliseconds(), 10)})
		go r.watchNode(name, p)
	}
	return nil
}

// withCommand puts the node's command and the directory it ran in under the
// first line of err (before the log tail it may carry): a setup failure
// says all a person needs to reproduce it.
func withCommand(err error, spec sut.Spec) string {
	if len(spec.Argv) == 0 {
		return err.Error()
	}
	first, rest, _ := strings.Cut(err.Error(), "\n")
	out := fmt.Sprintf("%s\n  command:   %s\n  directory: %s", first, shellQuote(spec.Argv), spec.Dir)
	if rest != "" {
		out += "\n" + rest
	}
	return out
}

// shellQuote joins argv as a shell would read it back.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !strings.ContainsRune("-_./:=@%+,", r) && !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// nodeSpec renders a node's command and environment.
func (r *run) nodeSpec(name string, n *scenarios.Node) (sut.Spec, error) {
	spec := sut.Spec{Name: name, Dir: n.Dir, LogPath: r.w.Path("logs", name+".log"), BaseDir: r.data.ScenarioDir,
		Unset: n.EnvUnset}
	switch {
	case spec.Dir == "":
		spec.Dir = r.w.Dir()
	case !filepath.IsAbs(spec.Dir):
		spec.Dir = filepath.Join(r.data.ScenarioDir, spec.Dir)
	}
	for i, arg := range n.Command {
		s, err := scenarios.Render(fmt.Sprintf("nodes.%s.command[%d]", name, i), arg, r.data, nil)
		if err != nil {
			return spec, err
		}
		spec.Argv = append(spec.Argv, s)
	}
	for _, k := range slices.Sorted(maps.Keys(n.Env)) {
		s, err := scenarios.Render("nodes."+name+".env."+k, n.Env[k], r.data, nil)
		if err != nil {
			return spec, err
		}
		spec.Env = append(spec.Env, k+"="+s)
	}
	for _, f := range slices.Sorted(maps.Keys(n.Files)) {
		s, err := scenarios.Render("nodes."+name+".files."+f, n.Files[f], r.data, nil)
		if err != nil {
			return spec, err
		}
		// Through the run directory's os.Root: a node started earlier may
		// have planted a symlink where this file goes.
		if err := r.w.WriteFile([]byte(s), f); err != nil {
			return spec, fmt.Errorf("node %s: files.%s: %w", name, f, err)
		}
	}
	return spec, nil
}

// watchNode notices a node that exits while soak has not asked it to.
func (r *run) watchNode(name string, p *sut.Process) {
	<-p.Exited()
	if p.Stopping() {
		return
	}
	tail := p.LogTail(15)
	at := time.Now()
	r.dieOnce.Do(func() {
		r.deathCause = fmt.Sprintf("node %s (pid %d) %s at %s", name, p.PID, p.ExitState(), at.Format("15:04:05"))
		if tail != "" {
			r.deathCause += "; last lines of its log:\n" + tail
		}
		close(r.died)
	})
	r.event(record.EventNodeExit, name, p.ExitState(), map[string]string{"pid": strconv.Itoa(p.PID), "log_tail": tail, "unexpected": "true"})
}

// startProbes makes one sampler per node (remote.go for remote nodes).
func (r *run) startProbes(ctx context.Context) error {
	rules, layers := layerRules(r.sc, &r.data)
	r.meta.Layers = layers
	for _, name := range r.sc.NodeNames() {
		n := r.sc.Nodes[name]
		if n.Remote != nil {
			if err := r.startRemote(ctx, name, n.Remote); err != nil {
				return setupErr("%v", err)
			}
			continue
		}
		t := probes.Target{Node: name, PID: r.procs[name].PID, Layers: rules[name]}
		var err error
		if t.GoroutinesURL, err = scenarios.Render("nodes."+name+".goroutines", n.Goroutines, r.data, nil); err != nil {
			return setupErr("%v", err)
		}
		if t.MetricsURL, err = scenarios.Render("nodes."+name+".metrics", n.Metrics, r.data, nil); err != nil {
			return setupErr("%v", err)
		}
		s, err := r.opts.newSampler(t, probes.KernelEvents(r.sc.Interval.D()), probes.OwnConns(r.own))
		if err != nil {
			return setupErr("probe node %s: %v", name, err)
		}
		r.meta.ProbeMethods["sockets/"+name] = s.Method()
		r.meta.ProbeMethods["fds/"+name] = s.FDMethod()
		r.meta.ProbeMethods["events/"+name] = s.EventsMethod()
		if why := s.EventsFallback(); why != "" {
			r.warn(fmt.Sprintf("node %s: connections' lives from polling only (1 per %s), not kernel events: %s",
				name, r.sc.Interval.D(), why))
		}
		r.samplers[name] = startSampler(name, s, r.sc.Interval.D(), r.w, r.warn, r.observe)
	}
	return r.writeMeta()
}

// tearDown takes the final samples, stops nodes then backends. It runs
// whatever happened before, and never blocks for long.
func (r *run) tearDown() {
	for _, ns := range r.samplers {
		ns.Final()
	}
	r.readRemote()
	for name, p := range r.procs {
		grace := r.sc.Nodes[name].StopGrace.D()
		if err := p.Stop(grace); err != nil {
			r.warn(err.Error())
		}
		if !p.Attached {
			r.event(record.EventNodeExit, name, p.ExitState(), map[string]string{"pid": strconv.Itoa(p.PID)})
		}
	}
	for name, b := range r.backends {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := b.Close(ctx); err != nil {
			r.warn(fmt.Sprintf("backend %s: %v", name, err))
		}
		cancel()
		r.event(record.EventBackendStop, name, "", nil)
	}
}

// scenarioDir is the absolute folder of the scenario file at path, or the
// working directory for a built-in (path names no file).
func scenarioDir(path string) string {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if abs, err := filepath.Abs(filepath.Dir(path)); err == nil {
			return abs
		}
	}
	wd, _ := os.Getwd()
	return wd
}
