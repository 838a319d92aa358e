package scenarios

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/soak-dev/soak/series"
)

// MaxNameBytes bounds a scenario name, which names the run directory: far
// below the 255-byte limit of one file name, with room for the timestamp.
const MaxNameBytes = 128

// validator checks what the schema cannot: required fields, ranges, and
// references between sections. Every error names the field path and,
// through the walker's positions, the line and column.
type validator struct {
	*walker
	sc   *Scenario
	stub *TemplateData // for checkRefs, built on first use
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validMethods are the methods a target may use.
var validMethods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "PATCH": true, "OPTIONS": true}

func (v *validator) fail(path, format string, args ...any) {
	for p := path; p != ""; {
		if v.bad[p] || v.bad[strings.TrimSuffix(p, "#key")] {
			return // already reported by the schema walk
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	e := &Error{File: v.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	// The field itself, else the closest parent that the file has.
	for p := path; ; {
		if pos, ok := v.pos[p]; ok {
			e.Line, e.Col = pos.Line, pos.Column
			break
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if pos, ok := v.pos[""]; ok {
				e.Line, e.Col = pos.Line, pos.Column
			}
			break
		}
		p = p[:i]
	}
	v.errs = append(v.errs, e)
}

func (v *validator) scenario(sc *Scenario) {
	v.sc = sc
	if strings.TrimSpace(sc.Name) == "" {
		v.fail("name", "required: a name for the scenario")
	} else if strings.ContainsAny(sc.Name, `/\`) {
		v.fail("name", "%q must not contain / or \\ (it names the run directory)", sc.Name)
	} else if len(sc.Name) > MaxNameBytes {
		v.fail("name", "is %d bytes long; at most %d (it names the run directory)", len(sc.Name), MaxNameBytes)
	} else if i := strings.IndexFunc(sc.Name, unicode.IsControl); i >= 0 {
		v.fail("name", "%q has a control character at byte %d (it names the run directory)", sc.Name, i)
	} else if !utf8.ValidString(sc.Name) {
		v.fail("name", "%q is not valid UTF-8 (it names the run directory)", sc.Name)
	}
	if sc.Interval != 0 && sc.Interval.D().Milliseconds() < 100 {
		v.fail("interval", "%s is too short; at least 100ms", sc.Interval)
	} else if sc.Interval > MaxInterval {
		v.fail("interval", "%s is too long; at most %s (checks need many samples)", sc.Interval, MaxInterval)
	}
	v.template("target", sc.Target)
	for _, name := range slices.Sorted(maps.Keys(sc.Backends)) {
		v.backend("backends."+name, name, sc.Backends[name])
	}
	if len(sc.Nodes) == 0 {
		v.fail("nodes", "required: at least one node (a SUT process to start or attach to)")
	}
	for _, name := range slices.Sorted(maps.Keys(sc.Nodes)) {
		v.node("nodes."+name, name, sc.Nodes[name])
	}
	for _, name := range slices.Sorted(maps.Keys(sc.Layers)) {
		v.layer("layers."+name, name, sc.Layers[name])
	}
	if len(sc.Phases) == 0 {
		v.fail("phases", "required: at least one phase")
	}
	v.count("cycles", sc.Cycles, MaxCount)
	seen := map[string]int{}
	for i, p := range sc.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if p == nil {
			v.fail(path, "empty phase")
			continue
		}
		if j, dup := seen[p.Name]; dup && p.Name != "" {
			v.fail(path+".name", "duplicate phase name %q (also phases[%d])", p.Name, j)
		}
		seen[p.Name] = i
		v.phase(path, p)
	}
	if len(v.errs) == 0 {
		if d := sc.Planned(); d > MaxPlanned {
			where := "phases"
			if sc.Cycles > 1 {
				where = "cycles"
			}
			v.fail(where, "the scenario plans %s; at most 720h (30 days)", fmtPlanned(d))
		}
	}
	for i, e := range sc.Expect {
		v.expectation(fmt.Sprintf("expect[%d]", i), e)
	}
	if sc.Isolate != nil {
		for i, a := range sc.Isolate.Loopback {
			if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
				v.fail(fmt.Sprintf("isolate.loopback[%d]", i), "%q is not a loopback address (127.0.0.0/8 or ::1)", a)
			}
		}
	}
}

func (v *validator) name(path, kind, name string) {
	if !nameRE.MatchString(name) {
		v.fail(path+"#key", "%s name %q must be a letter or _ followed by letters, digits or _ (it is used in templates as {{.%ss.%s}})", kind, name, strings.ToUpper(kind[:1])+kind[1:], name)
	}
}

func (v *validator) template(path, s string) {
	if s == "" {
		return
	}
	t, err := Parse(path, s, templateFuncStubs)
	if err != nil {
		msg := clipErr(err).Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		v.fail(path, "bad template %s: %s", clipQuote(s), msg)
		return
	}
	if err := v.checkRefs(t); err != nil {
		v.fail(path, "bad template %s: %v", clipQuote(s), err)
	}
}

// clipQuote quotes s for an error, shortened: a template may be megabytes long.
func clipQuote(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%q... (%d bytes)", s[:100], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// templateFuncStubs lets validation parse templates that use the load's
// per-request functions.
var templateFuncStubs = template.FuncMap{"rand": func(int) int { return 0 }, "seq": func() int { return 0 }}

func (v *validator) backend(path, name string, b *Backend) {
	v.name(path, "backend", name)
	if _, dup := v.sc.Nodes[name]; dup {
		v.fail(path+"#key", "%q names both a backend and a node", name)
	}
	if b == nil {
		v.fail(path, "empty backend: give at least its kind (%s)", backendKindList())
		return
	}
	spec := BackendKind(b.Kind)
	switch {
	case b.Kind == "":
		v.fail(path+".kind", "required: %s", backendKindList())
	case spec == nil:
		v.fail(path+".kind", "%q is not a backend kind (%s)", b.Kind, backendKindList())
	}
	if b.Listen != "" {
		v.hostPort(path+".listen", b.Listen)
	}
	for i, name := range b.Buckets {
		if spec == nil {
			break
		}
		if msg := spec.BucketNameError(name); msg != "" {
			v.fail(fmt.Sprintf("%s.buckets[%d]", path, i), "%q is not a valid %s name: %s", name, spec.Buckets(), msg)
		}
	}
	if b.Objects != nil {
		if b.Objects.MaxCount < 0 {
			v.fail(path+".objects.max_count", "%d is negative", b.Objects.MaxCount)
		}
		for i, s := range b.Objects.Synthetic {
			if s == nil || s.Prefix == "" {
				v.fail(fmt.Sprintf("%s.objects.synthetic[%d].prefix", path, i), "required: the key prefix of synthetic objects")
			}
		}
	}
	v.faults(path+".faults", b.Faults)
}

func (v *validator) faults(path string, f *Faults) {
	if f == nil {
		return
	}
	for field, rate := range map[string]float64{"error_rate": f.ErrorRate, "reset_rate": f.ResetRate, "stall_rate": f.StallRate} {
		if rate < 0 || rate > 1 {
			v.fail(path+"."+field, "%g is not a probability (0 to 1)", rate)
		}
	}
	if f.ErrorCode != 0 && (f.ErrorCode < 400 || f.ErrorCode > 599) {
		v.fail(path+".error_code", "%d is not an HTTP error status (400-599)", f.ErrorCode)
	}
}

func (v *validator) hostPort(path, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.fail(path, "%q is not host:port", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.fail(path, "%q has a bad port", s)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		v.fail(path, "%q: host must be an IP address or localhost", s)
	}
}

func (v *validator) node(path, name string, n *Node) {
	v.name(path, "node", name)
	if n == nil {
		v.fail(path, "empty node: give its command (or attach)")
		return
	}
	switch {
	case len(n.Command) == 0 && n.Attach == nil && n.Remote == nil && !v.bad[path+".command"] && !v.bad[path+".attach"] && !v.bad[path+".remote"]:
		v.fail(path, "required: command (an argv list), attach: {pid|pid_file, url} or remote: {exporter|prometheus, url}")
	case len(n.Command) > 0 && n.Attach != nil:
		v.fail(path+".attach", "a node has either command or attach, not both")
	case len(n.Command) > 0 && n.Remote != nil:
		v.fail(path+".remote", "a node has either command or remote, not both (soak does not start a remote node)")
	case n.Attach != nil && n.Remote != nil:
		v.fail(path+".remote", "a node has either attach or remote, not both")
	}
	v.remote(path+".remote", n.Remote)
	if n.Remote != nil {
		// Fields that start or probe a node: silently ignoring them would
		// let a scenario mean what it does not do.
		for _, f := range []struct {
			name string
			set  bool
			why  string
		}{
			{"env", len(n.Env) > 0, "soak does not start a remote node"},
			{"env_unset", len(n.EnvUnset) > 0, "soak does not start a remote node"},
			{"files", len(n.Files) > 0, "soak does not start a remote node"},
			{"dir", n.Dir != "", "soak does not start a remote node"},
			{"ready", n.Ready != "", "soak does not start a remote node; its exporter or Prometheus must hold its series when the run starts"},
			{"ready_timeout", n.ReadyTimeout != 0, "soak does not start a remote node"},
			{"stop_grace", n.StopGrace != 0, "soak does not stop a remote node"},
			{"host", n.Host != "", "remote.url gives a remote node's address"},
			{"goroutines", n.Goroutines != "", "give the exporter --pprof on the node's host"},
			{"metrics", n.Metrics != "", "give the exporter --metrics on the node's host"},
		} {
			if f.set {
				v.fail(path+"."+f.name, "does not apply to a remote node: %s", f.why)
			}
		}
	}
	for i, arg := range n.Command {
		v.template(fmt.Sprintf("%s.command[%d]", path, i), arg)
	}
	for _, k := range slices.Sorted(maps.Keys(n.Env)) {
		v.template(path+".env."+k, n.Env[k])
	}
	for i, k := range n.EnvUnset {
		if k == "" || (k != "*" && strings.ContainsAny(k, "= \x00")) {
			v.fail(fmt.Sprintf("%s.env_unset[%d]", path, i), "%q is not a variable name (or * for all)", k)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(n.Files)) {
		if f == "" || strings.HasPrefix(f, "/") || strings.Contains(f, "..") {
			v.fail(path+".files."+f, "%q must be a relative path inside the run directory", f)
		}
		v.template(path+".files."+f, n.Files[f])
	}
	if a := n.Attach; a != nil {
		if (a.PID != 0) == (a.PIDFile != "") {
			v.fail(path+".attach", "give exactly one of pid and pid_file")
		}
		if a.PID < 0 {
			v.fail(path+".attach.pid", "%d is negative", a.PID)
		}
		if a.URL == "" {
			v.fail(path+".attach.url", "required: the node's base URL, e.g. http://127.0.0.1:8080")
		} else if u, err := url.Parse(a.URL); err != nil || u.Host == "" {
			v.fail(path+".attach.url", "%q is not a URL like http://127.0.0.1:8080", a.URL)
		}
	}
	seen := map[string]bool{}
	for i, p := range n.Ports {
		if !nameRE.MatchString(p) {
			v.fail(fmt.Sprintf("%s.ports[%d]", path, i), "port name %q must be a letter or _ followed by letters, digits or _", p)
		}
		if seen[p] {
			v.fail(fmt.Sprintf("%s.ports[%d]", path, i), "duplicate port name %q", p)
		}
		seen[p] = true
	}
	if n.Host != "" && net.ParseIP(n.Host) == nil {
		v.fail(path+".host", "%q is not an IP address", n.Host)
	}
	if n.Ready != "" {
		v.template(path+".ready", n.Ready)
		if !strings.HasPrefix(n.Ready, "http://") && !strings.HasPrefix(n.Ready, "https://") && !strings.HasPrefix(n.Ready, "tcp://") {
			v.fail(path+".ready", "%q must start with http://, https:// or tcp://", n.Ready)
		}
	}
	v.template(path+".engine", n.Engine)
	v.template(path+".goroutines", n.Goroutines)
	v.template(path+".metrics", n.Metrics)
}

func (v *validator) remote(path string, r *Remote) {
	if r == nil {
		return
	}
	switch {
	case r.Prometheus == "" && r.Exporter == "":
		v.fail(path, "give prometheus (a Prometheus base URL, with match) or exporter (a soak probe --listen /metrics URL)")
	case r.Prometheus != "" && r.Exporter != "":
		v.fail(path+".exporter", "give either prometheus or exporter, not both")
	}
	v.httpURL(path+".prometheus", r.Prometheus, "http://prometheus:9090")
	v.httpURL(path+".exporter", r.Exporter, "http://10.0.0.2:9469/metrics")
	switch {
	case r.Prometheus != "" && r.Match == "":
		v.fail(path+".match", `required with prometheus: label matchers in braces that select the node's exporter, e.g. {instance="10.0.0.2:9469"}`)
	case r.Prometheus != "":
		m := strings.TrimSpace(r.Match)
		if len(m) < 2 || m[0] != '{' || m[len(m)-1] != '}' || strings.TrimSpace(m[1:len(m)-1]) == "" || strings.ContainsAny(m[1:len(m)-1], "{}") {
			v.fail(path+".match", `%q: want label matchers in braces, without a metric name, e.g. {instance="10.0.0.2:9469"}`, r.Match)
		}
	case r.Match != "":
		v.fail(path+".match", "match selects series in Prometheus; with exporter, name the exporter's node with node")
	}
	if r.Step < 0 {
		v.fail(path+".step", "%s is negative", r.Step)
	}
	if r.Step > 0 && r.Step.D() < time.Millisecond {
		v.fail(path+".step", "%s is under Prometheus's resolution, 1ms", r.Step)
	}
	if r.Step != 0 && r.Prometheus == "" {
		v.fail(path+".step", "step is the resolution of Prometheus queries; an exporter is scraped every interval")
	}
	step := r.Step
	if step <= 0 && v.sc != nil {
		step = v.sc.Interval
	}
	if step <= 0 {
		step = DefaultInterval
	}
	switch {
	case r.ReadEvery != 0 && r.Prometheus == "":
		v.fail(path+".read_every", "read_every is how often Prometheus is read; an exporter is scraped every interval")
	case r.ReadEvery < 0:
		v.fail(path+".read_every", "%s is negative", r.ReadEvery)
	case r.ReadEvery != 0 && r.ReadEvery < step:
		v.fail(path+".read_every", "%s is shorter than the step, %s: a read would find no new step", r.ReadEvery, step)
	}
	if r.Node != "" && r.Exporter == "" {
		v.fail(path+".node", "node picks one of an exporter's processes; with prometheus, match selects it")
	}
	if r.URL == "" {
		v.fail(path+".url", "required: the node's base URL, e.g. http://10.0.0.2:8080")
	} else {
		v.httpURL(path+".url", r.URL, "http://10.0.0.2:8080")
	}
}

// httpURL checks an absolute http(s) URL with a host ("" passes).
func (v *validator) httpURL(path, s, example string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(path, "%q is not a URL like %s", s, example)
	}
}

func (v *validator) layer(path, name string, l *Layer) {
	v.name(path, "layer", name)
	if name == series.AllLayers || name == series.Other {
		v.fail(path, "layer name %q is reserved (sockets.%s is a series of its own); choose another", name, name)
	}
	if l == nil {
		v.fail(path, "empty layer: give node, listen or peer, and idle_timeout")
		return
	}
	if l.Node == "" {
		v.fail(path+".node", "required: the node whose sockets make up the layer")
	} else if v.sc.Nodes[l.Node] == nil {
		v.fail(path+".node", "unknown node %q (nodes: %s)", l.Node, names(v.sc.Nodes))
	}
	if l.Listen == "" && l.Peer == "" {
		v.fail(path, "give listen (a node whose ports mark the server side) or peer (a node or backend whose ports mark the client side)")
	}
	if l.Listen != "" && v.sc.Nodes[l.Listen] == nil {
		v.fail(path+".listen", "unknown node %q (nodes: %s)", l.Listen, names(v.sc.Nodes))
	}
	if l.Peer != "" && v.sc.Nodes[l.Peer] == nil && v.sc.Backends[l.Peer] == nil {
		v.fail(path+".peer", "unknown node or backend %q (nodes: %s; backends: %s)", l.Peer,
			names(v.sc.Nodes), names(v.sc.Backends))
	}
	if l.IdleTimeout <= 0 {
		v.fail(path+".idle_timeout", "required: the idle timeout the SUT uses on this layer, e.g. 20s")
	}
	for i, p := range l.Ports {
		if !v.layerHasPort(l, p) {
			v.fail(fmt.Sprintf("%s.ports[%d]", path, i), "no node or backend of this layer has a port named %q", p)
		}
	}
}

func (v *validator) layerHasPort(l *Layer, port string) bool {
	for _, n := range []string{l.Listen, l.Peer} {
		if node := v.sc.Nodes[n]; node != nil {
			ports := node.Ports
			if len(ports) == 0 {
				ports = []string{DefaultPortName}
			}
			for _, p := range ports {
				if p == port {
					return true
				}
			}
		}
	}
	return false
}

func (v *validator) phase(path string, p *Phase) {
	if p.Name == "" {
		v.fail(path+".name", "required: a name for the phase")
	} else if strings.ContainsAny(p.Name, "#/ ") {
		v.fail(path+".name", "%q must not contain '#', '/' or spaces", p.Name)
	}
	v.count(path+".repeat", p.Repeat, MaxCount)
	for _, b := range slices.Sorted(maps.Keys(p.Faults)) {
		if v.sc.Backends[b] == nil {
			v.fail(path+".faults."+b, "unknown backend %q (backends: %s)", b, names(v.sc.Backends))
		}
		v.faults(path+".faults."+b, p.Faults[b])
	}
	oneKind(v, path, phaseOneOf.set(p), PhaseKinds, "give one kind of load", "one kind of load per phase")
}

// target checks "METHOD PATH-OR-URL".
func (v *validator) target(path, t string) {
	if t == "" {
		return
	}
	method, rest, ok := strings.Cut(strings.TrimSpace(t), " ")
	if !ok || strings.TrimSpace(rest) == "" {
		v.fail(path, "%q must be \"METHOD PATH\", e.g. \"GET /v1/objects/b/k\"", t)
		return
	}
	if !validMethods[method] {
		v.fail(path, "%q: unknown method %q", t, method)
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "/") && !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") && !strings.HasPrefix(rest, "{{") {
		v.fail(path, "%q: the target must be a path (/...) or a URL (http://...)", t)
	}
	v.template(path, t)
}

func (v *validator) enum(path, s string, allowed ...string) {
	if s == "" {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(path, "%q is not one of %s", s, strings.Join(allowed, ", "))
}

func (v *validator) positive(path string, n int, what string) {
	if n <= 0 {
		if n < 0 {
			v.fail(path, "%d is negative", n)
		} else {
			v.fail(path, "required: the number of %s (at least 1)", what)
		}
	}
}

// count checks 0 <= n <= most.
func (v *validator) count(path string, n, most int) {
	if n < 0 {
		v.fail(path, "%d is negative", n)
	}
	v.atMost(path, n, most)
}

func (v *validator) atMost(path string, n, most int) {
	if n > most {
		v.fail(path, "%d is too many; at most %d", n, most)
	}
}

// fmtPlanned prints a planned duration; past time.Duration's range it says so.
func fmtPlanned(d time.Duration) string {
	if d >= 1<<62 {
		return "over 100 years"
	}
	return d.String()
}

func (v *validator) nonNegative(path string, n int) {
	if n < 0 {
		v.fail(path, "%d is negative", n)
	}
}

func (v *validator) positiveDuration(path string, d Duration) {
	if d <= 0 {
		v.fail(path, "required: a duration above 0, e.g. 30s")
	}
}

func (v *validator) positiveRate(path string, r Rate) {
	if r.Freq <= 0 {
		v.fail(path, "required: a rate above 0, e.g. 200/s")
	}
}

func (v *validator) expectation(path string, e *Expectation) {
	if e == nil {
		v.fail(path, "empty check: give one of %s", strings.Join(CheckKinds, ", "))
		return
	}
	oneKind(v, path, checkOneOf.set(e), CheckKinds, "give one check", "one check per entry")
}

// oneKind validates the one kind set in a one-of (a phase's load, an
// expectation's check): none set asks for one of kinds (unless a kind was
// set but malformed, already reported), two or more name the clash.
func oneKind[S interface {
	Kind() string
	validate(v *validator, path string)
}](v *validator, path string, specs []S, kinds []string, none, many string) {
	switch len(specs) {
	case 0:
		if !v.anyBad(path, kinds) {
			v.fail(path, "%s: %s", none, strings.Join(kinds, ", "))
		}
	case 1:
		specs[0].validate(v, path+"."+specs[0].Kind())
	default:
		v.fail(path, "%s, not %s", many, strings.Join(kindsOf(specs), " and "))
	}
}

// kindsOf names the kinds set, for "one kind, not a and b".
func kindsOf[S interface{ Kind() string }](specs []S) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Kind()
	}
	return out
}

func (v *validator) layerRef(path, name string, required bool) {
	if name == "" {
		if required {
			v.fail(path, "required: a layer (%s)", names(v.sc.Layers))
		}
		return
	}
	if v.sc.Layers[name] == nil {
		v.fail(path, "unknown layer %q (layers: %s)", name, names(v.sc.Layers))
	}
}

func (v *validator) nodeRef(path, name string) {
	if name != "" && v.sc.Nodes[name] == nil {
		v.fail(path, "unknown node %q (nodes: %s)", name, names(v.sc.Nodes))
	}
}

func (v *validator) phaseRef(path, name string, required bool) {
	if name == "" {
		if required {
			v.fail(path, "required: a phase name")
		}
		return
	}
	for _, p := range v.sc.Phases {
		if p != nil && p.Name == name {
			return
		}
	}
	var names []string
	for _, p := range v.sc.Phases {
		if p != nil {
			names = append(names, p.Name)
		}
	}
	v.fail(path, "unknown phase %q (phases: %s)", name, strings.Join(names, ", "))
}

// series checks a series name against package series' grammar and the
// scenario's layers; an unknown class, state, FD type or layer is an error
// with a suggestion, never a series read as 0.
func (v *validator) series(path, s string) {
	if _, err := series.Check(s, slices.Sorted(maps.Keys(v.sc.Layers))); err != nil {
		v.fail(path, "%v", err)
	}
}

// names lists a section's names for an error message, or says there are none.
func names[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none defined"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// anyBad tells whether the schema walk dropped one of the kinds of path, so
// "give one kind" would only repeat its error.
func (v *validator) anyBad(path string, kinds []string) bool {
	for _, k := range kinds {
		if v.bad[path+"."+k] {
			return true
		}
	}
	return false
}
