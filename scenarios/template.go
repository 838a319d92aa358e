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

// Render executes tmpl (a text/template) with data and extra functions.
// Missing keys are errors, so "{{.Nodes.prxy.Addr}}" fails loudly.
func Render(name, tmpl string, data any, funcs template.FuncMap) (string, error) {
	t, err := Parse(name, tmpl, funcs)
	if err != nil {
		return "", err
	}
	return Execute(t, data)
}

// Parse parses tmpl for repeated execution (see Execute).
func Parse(name, tmpl string, funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// Execute runs a parsed template.
func Execute(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", t.Name(), err)
	}
	return b.String(), nil
}
