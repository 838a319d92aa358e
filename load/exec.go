package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(func(s *scenarios.Exec) *execPhase { return &execPhase{spec: s} }) }

var _ Phase = (*execPhase)(nil)

// execPhase runs a command to its end: a setup step. Its output goes to
// load/<phase>.log.
type execPhase struct{ spec *scenarios.Exec }

// Run implements Phase.
func (p *execPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, p.spec.Kind(), time.Now())
	fail := func(format string, args ...any) (record.PhaseResult, error) {
		res.Errors["exec"]++
		return res, errors.Join(fmt.Errorf("%w: %s", ErrStepFailed, fmt.Sprintf(format, args...)), finishResult(env, &res, nil))
	}
	argv, environ, err := p.render(env)
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.spec.Planned())
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = environ, env.RunDir
	setGroup(cmd)
	cmd.WaitDelay = time.Second // a grandchild holding stdout does not hold Run
	logPath := filepath.Join(env.RunDir, record.PhaseFile(env.Phase, ".log"))
	if env.RunDir != "" {
		f, err := record.CreatePhaseFile(env.RunDir, env.Phase, ".log")
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	err = cmd.Run()
	res.Requests = 1
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("killed after its timeout %s", p.spec.Planned())
		}
		return fail("%s: %v; its output: %s", strings.Join(argv, " "), err, tail(logPath, maxStepOutput))
	}
	res.Success = 1
	return res, finishResult(env, &res, nil)
}

// render renders the argv and environment; a relative command path with
// a slash resolves against the scenario's folder, as a node's does.
func (p *execPhase) render(env Env) ([]string, []string, error) {
	var argv []string
	for i, a := range p.spec.Command {
		s, err := scenarios.Render(fmt.Sprintf("%s.command[%d]", env.Phase, i), a, env.Data, nil)
		if err != nil {
			return nil, nil, err
		}
		argv = append(argv, s)
	}
	if len(argv) == 0 {
		return nil, nil, errors.New("empty command")
	}
	if td, ok := env.Data.(scenarios.TemplateData); ok && strings.Contains(argv[0], "/") && !filepath.IsAbs(argv[0]) {
		argv[0] = filepath.Join(td.ScenarioDir, argv[0])
	}
	environ := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(p.spec.Env)) {
		s, err := scenarios.Render(env.Phase+".env."+k, p.spec.Env[k], env.Data, nil)
		if err != nil {
			return nil, nil, err
		}
		environ = append(environ, k+"="+s)
	}
	return argv, environ, nil
}

// tail returns the last n bytes of the file at path, trimmed.
func tail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(none)"
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(none)"
}
