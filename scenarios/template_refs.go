package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// checkRefs executes t on stand-in data that has exactly the scenario's
// nodes, ports, backends and vars, so a reference to one that does not
// exist ({{.Nodes.prxy.Addr}}, {{.Nodes.proxy.Ports.admin}}) is a
// validation error with a position, not a failure after backends started.
func (v *validator) checkRefs(t *Template) error {
	if v.stub == nil {
		v.stub = stubData(v.sc)
	}
	_, err := Execute(t, v.stub)
	if err == nil {
		return nil
	}
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return err // the output bound
	}
	msg := clipErr(ee).Error()
	ref := ""
	if m := atRef.FindStringSubmatch(msg); m != nil {
		ref = m[1]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if ref != "" {
		return fmt.Errorf("%s: %s", ref, msg)
	}
	return errors.New(msg)
}

var atRef = regexp.MustCompile(`at <([^>]*)>`)

// stubData is TemplateData with the names a scenario defines and
// placeholder addresses.
func stubData(sc *Scenario) *TemplateData {
	d := &TemplateData{Nodes: map[string]NodeAddr{}, Backends: map[string]BackendAddr{},
		Run: RunInfo{Dir: "/run", Name: sc.Name}, Vars: map[string]string{}, Soak: "soak"}
	for k, val := range sc.Vars {
		d.Vars[k] = val
	}
	for name, n := range sc.Nodes {
		ports := []string{DefaultPortName}
		if n != nil && len(n.Ports) > 0 {
			ports = n.Ports
		}
		a := NodeAddr{Name: name, Host: DefaultHost, Port: 1, Addr: DefaultHost + ":1", URL: "http://" + DefaultHost + ":1",
			Ports: map[string]int{}, Addrs: map[string]string{}}
		for i, p := range ports {
			a.Ports[p] = i + 1
			a.Addrs[p] = fmt.Sprintf("%s:%d", DefaultHost, i+1)
		}
		d.Nodes[name] = a
	}
	for name, b := range sc.Backends {
		a := BackendAddr{Name: name, Host: DefaultHost, Port: 1, Addr: DefaultHost + ":1", URL: "http://" + DefaultHost + ":1",
			AccessKey: "soak", SecretKey: "soaksecret", Region: "us-east-1", Bucket: "bucket"}
		if b != nil {
			a.Kind = b.Kind
		}
		d.Backends[name] = a
	}
	return d
}
