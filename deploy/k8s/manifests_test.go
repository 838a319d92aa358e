package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/soak-dev/soak/rules"
	"github.com/soak-dev/soak/scenarios"
)

// doc is one YAML document of a manifest file, decoded strictly.
type doc struct {
	file string
	obj  any
}

// newObject is the API type of each kind the manifests use.
var newObject = map[string]func() any{
	"apps/v1 DaemonSet":        func() any { return &appsv1.DaemonSet{} },
	"batch/v1 Job":             func() any { return &batchv1.Job{} },
	"v1 ConfigMap":             func() any { return &corev1.ConfigMap{} },
	"v1 PersistentVolumeClaim": func() any { return &corev1.PersistentVolumeClaim{} },
	"v1 Service":               func() any { return &corev1.Service{} },
}

// decode reads every document of b strictly: a field the API type does not
// have (a typo, a field at the wrong level) is an error, as kubectl's
// server-side field validation would make it.
func decode(file string, b []byte) ([]doc, error) {
	var out []doc
	for i, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(part, "")) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(part), &head); err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", file, i+1, err)
		}
		mk := newObject[head.APIVersion+" "+head.Kind]
		if mk == nil {
			return nil, fmt.Errorf("%s, document %d: kind %s %s not known to this test", file, i+1, head.APIVersion, head.Kind)
		}
		obj := mk()
		// Kubernetes' own strict decoding: case-sensitive field names (Go's
		// encoding/json would take hostPid for hostPID), unknown and
		// duplicate fields reported with their paths.
		js, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", file, i+1, err)
		}
		strict, err := kjson.UnmarshalStrict(js, obj)
		if err = errors.Join(append(strict, err)...); err != nil {
			return nil, fmt.Errorf("%s, document %d (%s): %w", file, i+1, head.Kind, err)
		}
		out = append(out, doc{file, obj})
	}
	return out, nil
}

func manifests(t *testing.T) []doc {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 5 {
		t.Fatalf("%d manifest files, want 5 (%v)", len(files), files)
	}
	var all []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decode(f, b)
		if err != nil {
			t.Error(err)
		}
		all = append(all, docs...)
	}
	return all
}

func find[T any](t *testing.T, docs []doc, name string) *T {
	t.Helper()
	for _, d := range docs {
		if o, ok := d.obj.(*T); ok && objName(o) == name {
			return o
		}
	}
	t.Fatalf("no %T named %s in the manifests", new(T), name)
	return nil
}

func objName(o any) string {
	switch v := o.(type) {
	case *appsv1.DaemonSet:
		return v.Name
	case *batchv1.Job:
		return v.Name
	case *corev1.ConfigMap:
		return v.Name
	case *corev1.PersistentVolumeClaim:
		return v.Name
	case *corev1.Service:
		return v.Name
	}
	return ""
}

// TestStrictDecoderRefuses shows the decoder fails on what it must: a
// misspelled field, a field at the wrong level, a wrong type.
func TestStrictDecoderRefuses(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("exporter-daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"hostPID: true", "hostPid: true", `unknown field "spec.template.spec.hostPid"`},
		{"readOnlyRootFilesystem: true", "readOnlyRootFS: true", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFS"`},
		{"containerPort: 9469", "containerPort: metrics", "cannot unmarshal"},
	} {
		bad := bytes.Replace(base, []byte(tc.from), []byte(tc.to), 1)
		if bytes.Equal(bad, base) {
			t.Fatalf("%q not in the manifest", tc.from)
		}
		if _, err := decode("bad.yaml", bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: error %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}

// TestManifests decodes every manifest strictly and checks what the docs
// promise of them.
func TestManifests(t *testing.T) {
	t.Parallel()
	docs := manifests(t)

	ds := find[appsv1.DaemonSet](t, docs, "soak-exporter")
	pod := ds.Spec.Template.Spec
	if !pod.HostPID || pod.HostNetwork || len(pod.Containers) != 1 {
		t.Errorf("exporter pod: hostPID %v, hostNetwork %v, %d containers; want hostPID only, one container", pod.HostPID, pod.HostNetwork, len(pod.Containers))
	}
	sc := pod.Containers[0].SecurityContext
	var caps []string
	for _, c := range sc.Capabilities.Add {
		caps = append(caps, string(c))
	}
	slices.Sort(caps)
	// The privileges docs/distributed.md states one by one, and no more.
	if want := []string{"DAC_READ_SEARCH", "SYS_ADMIN", "SYS_PTRACE"}; !slices.Equal(caps, want) ||
		len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || sc.Privileged != nil && *sc.Privileged {
		t.Errorf("exporter capabilities: add %v drop %v privileged %v; want add %v, drop ALL", caps, sc.Capabilities.Drop, sc.Privileged, want)
	}
	doc, err := os.ReadFile("../../docs/distributed.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caps {
		if !strings.Contains(string(doc), "`CAP_"+c+"`") {
			t.Errorf("docs/distributed.md does not say what CAP_%s is for", c)
		}
	}

	// The scenario the Jobs run is valid, and its rules pass promtool
	// with the scrape config that loads them.
	cm := find[corev1.ConfigMap](t, docs, "soak-scenario")
	scn, err := scenarios.ParseScenario("soak-scenario.yaml", []byte(cm.Data["scenario.yaml"]))
	if err != nil {
		t.Fatalf("the scenario in ConfigMap soak-scenario: %v", err)
	}
	for _, n := range scn.Nodes {
		if n.Remote == nil {
			t.Errorf("a node of the Job's scenario is not remote: the Job's pod cannot probe the SUT")
		}
	}

	job := find[batchv1.Job](t, docs, "soak-shards")
	n := job.Spec.Completions
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion || n == nil || job.Spec.Parallelism == nil || *job.Spec.Parallelism != *n {
		t.Fatalf("soak-shards: completion mode %v, completions %v, parallelism %v; want Indexed, all at once", job.Spec.CompletionMode, n, job.Spec.Parallelism)
	}
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, fmt.Sprintf(`--shard "$((JOB_COMPLETION_INDEX + 1))/%d"`, *n)) {
		t.Errorf("soak-shards: args %q do not run shard index+1 of %d", args, *n)
	}

	prom := find[corev1.ConfigMap](t, docs, "soak-prometheus")
	tool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus, or make deps-test)")
	}
	dir := t.TempDir()
	f, err := rules.Generate(scn, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := f.Marshal("soak-scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(prom.Data["prometheus.yml"], "/etc/prometheus/", dir+"/")
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "soak-rules.yml"), rb, 0o644)
	out, err := exec.Command(tool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	t.Logf("promtool check config:\n%s", out)
	if err != nil {
		t.Errorf("promtool check config: %v", err)
	}
}
