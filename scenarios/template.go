package scenarios

import (
	"bytes"
	"fmt"
	"text/template"
)

// TemplateData is what scenario strings (node commands, env, URLs, targets)
// can refer to, e.g. {{.Backends.s3.URL}} or {{.Nodes.proxy.Addr}}.
type TemplateData struct {
	Nodes    map[string]NodeAddr
	Backends map[string]BackendAddr
	Run      RunInfo
	Vars     map[string]string
	// Soak is the path of the soak binary, so scenarios can start the
	// reference SUT as ["{{.Soak}}", "testsut", ...].
	Soak string
	// ScenarioDir is the absolute folder of the scenario file (soak's
	// working directory for a built-in). Relative command paths and node
	// dirs resolve against it too.
	ScenarioDir string
	// Cycle is the cycle of the phase run being rendered (1..cycles) and
	// Repeat its repeat within the cycle (1..repeat); both 0 outside load
	// targets. With {{rand N}}, reseeded per phase run, they let load
	// reach new keys over time: "GET /data/c{{.Cycle}}-{{.Repeat}}-{{rand 100}}".
	Cycle, Repeat int
}

// NodeAddr holds a node's allocated addresses.
type NodeAddr struct {
	Name string
	Host string // e.g. 127.0.0.1
	Port int    // the main (first) port
	Addr string // host:port of the main port
	URL  string // http://host:port
	// Ports by name, e.g. {"http": 40123, "intra": 40124}.
	Ports map[string]int
	// Addrs by port name, host:port.
	Addrs map[string]string
}

// BackendAddr holds a fake backend's address and credentials.
type BackendAddr struct {
	Name      string
	Kind      string
	Host      string
	Port      int
	Addr      string
	URL       string
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string // the first of the backend's buckets, if any
}

// RunInfo describes the run.
type RunInfo struct {
	Dir  string // the run directory (absolute)
	Name string
}

// MaxTemplateOutput bounds what one template renders, and what each
// function call inside it may return: scenario values are URLs, commands
// and small config files, and a hostile printf width must not cost GBs.
const MaxTemplateOutput = 1 << 20

// templateWork bounds the bytes all function calls of one execution may
// produce, so chained calls ({{$x := printf "%s%s" $x $x}} repeated) stay
// bounded in time as well as in memory.
const templateWork = 8 * MaxTemplateOutput

// Template is a parsed scenario template. Not safe for concurrent use.
type Template struct {
	t      *template.Template
	budget *int // bytes the growing functions may still produce in this execution
}

// Name returns the template's name.
func (t *Template) Name() string { return t.t.Name() }

// Render executes tmpl (a text/template) with data and extra functions.
// Missing keys are errors, so "{{.Nodes.prxy.Addr}}" fails loudly.
func Render(name, tmpl string, data any, funcs template.FuncMap) (string, error) {
	t, err := Parse(name, tmpl, funcs)
	if err != nil {
		return "", err
	}
	return Execute(t, data)
}

// Parse parses tmpl for repeated execution (see Execute). Only templates
// that render in one pass are accepted: no {{range}} (range 1000000000
// spins), no {{template}}, {{define}} or {{block}} (recursion), so every
// template validate accepts runs in time linear in its text.
func Parse(name, tmpl string, funcs template.FuncMap) (*Template, error) {
	budget := new(int)
	fm := boundedFuncs(budget)
	for k, f := range funcs {
		fm[k] = f
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(fm).Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	if what := notStraight(t); what != "" {
		return nil, fmt.Errorf("template %s: %s is not supported (a scenario value renders in one pass)", name, what)
	}
	return &Template{t: t, budget: budget}, nil
}

// Execute runs a parsed template; its output is at most MaxTemplateOutput bytes.
func Execute(t *Template, data any) (string, error) {
	*t.budget = templateWork
	b := limitedBuffer{max: MaxTemplateOutput}
	if err := t.t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", t.Name(), clipErr(err))
	}
	return b.String(), nil
}

// limitedBuffer fails a write past max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("output over %d bytes", b.max)
	}
	return b.Buffer.Write(p)
}

// clipErr shortens an execution error: text/template quotes the values it
// failed on, which may be megabytes long.
func clipErr(err error) error {
	if msg := err.Error(); len(msg) > 300 {
		return fmt.Errorf("%s ... (%d bytes more)", msg[:300], len(msg)-300)
	}
	return err
}
