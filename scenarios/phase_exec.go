package scenarios

import (
	"fmt"
	"time"
)

// Exec runs a command to its end: a setup step (create a bucket with the
// SUT's CLI, load fixtures, start a job). Its output goes to
// load/<phase>.log; a non-zero exit or the timeout ends the run (exit 3).
type Exec struct {
	// Command is the argv, templated, run without a shell in the run
	// directory. A relative path with a slash resolves against the
	// scenario file's folder, as a node's command does.
	Command []string `yaml:"command" json:"command"`
	// Env adds templated variables to soak's environment for the command.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Timeout bounds the command; past it it is killed. Default 1m.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

var _ PhaseSpec = (*Exec)(nil)

// Kind implements PhaseSpec.
func (*Exec) Kind() string { return "exec" }

// Planned implements PhaseSpec: at most its timeout.
func (e *Exec) Planned() time.Duration { return stepTimeout(e.Timeout) }

// MaxConnections implements PhaseSpec: soak opens none.
func (*Exec) MaxConnections() int { return 0 }

func (e *Exec) scale(func(*Duration)) {} // a step's timeout is not scaled

func (e *Exec) validate(v *validator, k string) {
	if len(e.Command) == 0 {
		v.fail(k+".command", "required: the argv, e.g. [\"./mkbucket\", \"data\"]")
	}
	for i, a := range e.Command {
		v.template(fmt.Sprintf("%s.command[%d]", k, i), a)
	}
	for name, val := range e.Env {
		v.template(k+".env."+name, val)
	}
	if e.Timeout < 0 {
		v.fail(k+".timeout", "must not be negative")
	}
}

func (*Exec) shard(g Segment) bool { return g.First() }
func (*Exec) setupStep()           {}
