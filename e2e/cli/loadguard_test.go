package cli

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
)

// statusServerEnv makes the test binary an HTTP server on the address it
// holds that answers 500 to everything (the SUT that failed every GET).
const statusServerEnv = "SOAK_TEST_500_ADDR"

func statusServer() {
	ln, err := net.Listen("tcp", os.Getenv(statusServerEnv))
	if err != nil {
		os.Exit(3)
	}
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
}

// A load that failed in full fails the run by the default load guard,
// naming the phase, the status codes with counts and one example; the same
// load passes when the phase declares the code it expects.
func TestLoadGuard(t *testing.T) {
	t.Parallel() // mostly waiting on short runs of their own
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sc500 := filepath.Join(t.TempDir(), "s500.yaml")
	os.WriteFile(sc500, []byte(`name: s500
interval: 500ms
nodes:
  sut:
    command: ["`+self+`"]
    env: {`+statusServerEnv+`: "{{.Nodes.sut.Addr}}"}
layers:
  client: {node: sut, listen: sut, idle_timeout: 1s}
phases:
  - name: warm
    steady: {rate: 50/s, duration: 2s, connections: 4, targets: ["GET /obj"]}
`), 0o644)
	mini, err := os.ReadFile("testdata/mini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	probe := strings.Replace(string(mini), `targets: ["GET /v1/objects/soak/syn/k-{{rand 50}}"]`, `targets: ["GET /v1/objects/nobucket/k"]`, 1)
	sc404 := filepath.Join(t.TempDir(), "s404.yaml")
	os.WriteFile(sc404, []byte(probe), 0o644)
	scProbe := filepath.Join(t.TempDir(), "probe.yaml")
	os.WriteFile(scProbe, []byte(strings.Replace(probe, `connections: 8,`, `connections: 8, expect_status: [404],`, 1)), 0o644)
	failed := regexp.MustCompile(`(\d+) of (\d+) requests failed: HTTP (\d+) x(\d+) \(e\.g\. GET http://`)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"100% 404", []string{sc404}, 1,
			[]string{"FAIL          load/load", "phase load: error_rate 100.0% (limit <= 10%); ", "/v1/objects/nobucket/k: 404)", "verdict: fail (exit 1)"}},
		{"404 expected", []string{scProbe}, 0,
			[]string{"PASS          load/load", "phase load: error_rate 0.0% (limit <= 10%) over "}},
		{"100% 500", []string{sc500}, 1,
			[]string{"FAIL          load/warm", "phase warm: error_rate 100.0% (limit <= 10%); ", "/obj: 500)", "verdict: fail (exit 1)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := clitest.Run(t, append([]string{"run", "--out", t.TempDir(), "--quiet"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if m := failed.FindStringSubmatch(out); tc.code == 1 && (m == nil || m[1] != m[2] || m[2] != m[4]) {
				t.Errorf("output does not say all requests failed with one code, counted: %q\n%s", m, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
