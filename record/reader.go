package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotRun is returned by Open for a directory that holds no run.
var ErrNotRun = errors.New("not a soak run directory (no meta.json)")

// Run is a run directory opened for reading. Readers tolerate runs that are
// still going, were interrupted or killed.
type Run struct {
	Dir  string
	Meta Meta
	// Warnings collects what the readers skipped (torn lines) or inferred.
	Warnings []string
}

// Open reads meta.json of the run in dir. A run without an end time was
// killed (or is still running): its Ended is set to EndedKilled and its End
// to the time of its last sample or event.
func Open(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotRun)
	}
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	r := &Run{Dir: dir}
	if err := json.Unmarshal(b, &r.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	if r.Meta.Format > FormatVersion {
		r.warnf("run format %d is newer than this soak reads (%d); some data may be missing", r.Meta.Format, FormatVersion)
	}
	if r.Meta.Ended == "" {
		r.Meta.Ended = EndedKilled
		r.Meta.ExitCode = 0
		last := r.Meta.Start
		_ = r.EachSample(func(s Sample) error {
			if s.Time.After(last) {
				last = s.Time
			}
			return nil
		})
		r.Meta.End = last
		r.warnf("run has no end in meta.json: it was killed (or is still running); data up to %s", last.Format("15:04:05"))
	}
	return r, nil
}

func (r *Run) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// Path returns the path of name inside the run directory.
func (r *Run) Path(name ...string) string {
	return filepath.Join(append([]string{r.Dir}, name...)...)
}

// EachSample calls fn for every sample in file order.
func (r *Run) EachSample(fn func(Sample) error) error {
	return eachLine(r, SamplesFile, fn)
}

// EachConn calls fn for every finished connection in file order.
func (r *Run) EachConn(fn func(Conn) error) error {
	return eachLine(r, ConnsFile, fn)
}

// EachEvent calls fn for every event in file order.
func (r *Run) EachEvent(fn func(Event) error) error {
	return eachLine(r, EventsFile, fn)
}

// Samples returns all samples.
func (r *Run) Samples() ([]Sample, error) { return collect[Sample](r, SamplesFile) }

// Conns returns all finished connections.
func (r *Run) Conns() ([]Conn, error) { return collect[Conn](r, ConnsFile) }

// Events returns all events.
func (r *Run) Events() ([]Event, error) { return collect[Event](r, EventsFile) }

// PhaseResults returns the load results of every phase, in start order.
func (r *Run) PhaseResults() ([]PhaseResult, error) {
	paths, err := filepath.Glob(filepath.Join(r.Dir, LoadDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []PhaseResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read phase result: %w", err)
		}
		var pr PhaseResult
		if err := json.Unmarshal(b, &pr); err != nil {
			r.warnf("%s: %v (skipped)", p, err)
			continue
		}
		out = append(out, pr)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// Nodes returns the node names, sorted.
func (r *Run) Nodes() []string {
	var names []string
	for n := range r.Meta.Nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func collect[T any](r *Run, name string) ([]T, error) {
	var out []T
	err := eachLine(r, name, func(v T) error { out = append(out, v); return nil })
	return out, err
}

// eachLine decodes one JSON value per line. A missing file is empty; a
// line that does not decode is skipped with a warning (the last line of a
// killed run may be torn).
func eachLine[T any](r *Run, name string, fn func(T) error) error {
	f, err := os.Open(filepath.Join(r.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read run: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			var v T
			if derr := json.Unmarshal(line, &v); derr != nil {
				if !complete {
					r.warnf("%s:%d: torn last line skipped (run killed mid-write?)", name, lineNo)
				} else if strings.TrimSpace(string(line)) != "" {
					r.warnf("%s:%d: skipped: %v", name, lineNo, derr)
				}
			} else if ferr := fn(v); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}
