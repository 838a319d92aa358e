package sut

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A relative command resolves against BaseDir (the scenario's folder), not
// soak's working directory nor the node's Dir; when it is missing, the
// error names where soak looked.
func TestRelativeCommandResolvesAgainstBaseDir(t *testing.T) {
	t.Parallel()
	base, work := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"ran in $(pwd)\"\n"
	if err := os.WriteFile(filepath.Join(base, "bin", "my-server"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, arg, wantErr string
	}{
		{name: "dot-slash", arg: "./bin/my-server"},
		{name: "no-dot", arg: "bin/my-server"},
		{name: "missing", arg: "./my-gateway", wantErr: filepath.Join(base, "my-gateway") + ", resolved against the scenario's folder " + base},
		{name: "bare name not in PATH", arg: "no-such-soak-command", wantErr: "not found in $PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "n.log")
			p, err := Start(Spec{Name: "n", Argv: []string{tc.arg}, Dir: work, BaseDir: base, LogPath: log})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Start(%q) error = %v, want one containing %q", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start(%q): %v", tc.arg, err)
			}
			select {
			case <-p.Exited():
			case <-time.After(10 * time.Second):
				t.Fatal("exit not noticed")
			}
			if got, want := p.LogTail(1), "ran in "+work; got != want {
				t.Errorf("log = %q, want %q (the node's Dir is its working directory)", got, want)
			}
		})
	}
}

// env_unset: the node does not inherit the named variables of soak's
// environment ("*": none), and still gets its own Env.
func TestEnvUnset(t *testing.T) {
	t.Setenv("SOAK_TEST_CA", "/etc/host-ca.pem")
	t.Setenv("SOAK_TEST_KEEP", "kept")
	for _, tc := range []struct {
		name  string
		unset []string
		want  string
	}{
		{"inherit", nil, "ca=/etc/host-ca.pem keep=kept own=mine"},
		{"unset one", []string{"SOAK_TEST_CA"}, "ca= keep=kept own=mine"},
		{"unset all", []string{"*"}, "ca= keep= own=mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "n.log")
			p, err := Start(Spec{Name: "n", Argv: []string{"/bin/sh", "-c", `echo "ca=$SOAK_TEST_CA keep=$SOAK_TEST_KEEP own=$OWN"`},
				Env: []string{"OWN=mine"}, Unset: tc.unset, Dir: t.TempDir(), LogPath: log})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Exited():
			case <-time.After(10 * time.Second):
				t.Fatal("exit not noticed")
			}
			if got := p.LogTail(1); got != tc.want {
				t.Errorf("node saw %q, want %q", got, tc.want)
			}
		})
	}
}
