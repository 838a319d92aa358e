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
	"time"
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

	// MetaErr is why meta.json could not be read, for a Run opened with
	// OpenTolerant; Meta then holds only what the samples tell.
	MetaErr error

	root dirRoot // every file is read and written through it (see rundir.go)
}

// Open reads meta.json of the run in dir. A run without an end time was
// killed (or is still running): its Ended is set to EndedKilled and its End
// to the time of its last sample or event.
//
// A meta.json without a start (a hand-made or damaged run) gets the time of
// the first sample, with a warning, so no reader works from year 1.
func Open(dir string) (*Run, error) { return open(dir, false) }

// OpenTolerant is Open for a reader that can do without meta.json (a
// report): one that exists but cannot be read (a symlink out of the run
// directory, too large, not JSON) is a warning and MetaErr, not an error,
// and the run's times come from its samples. A directory with no meta.json
// at all is still ErrNotRun.
func OpenTolerant(dir string) (*Run, error) { return open(dir, true) }

func open(dir string, tolerant bool) (*Run, error) {
	r := &Run{Dir: dir}
	b, err := r.ReadFile(MetaFile)
	if errors.Is(err, os.ErrNotExist) {
		r.Close()
		return nil, fmt.Errorf("%s: %w", dir, ErrNotRun)
	}
	if err == nil {
		if jerr := json.Unmarshal(b, &r.Meta); jerr != nil {
			r.Meta = Meta{}
			err = fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), jerr)
		}
	} else {
		err = fmt.Errorf("read run: %w", err)
	}
	if err != nil {
		if !tolerant {
			r.Close()
			return nil, err
		}
		r.MetaErr = err
		r.warnf("meta.json could not be read (%v): the run's nodes, phases, layers and end are unknown; times come from the samples", err)
	}
	if r.Meta.Start.IsZero() {
		var first time.Time
		_ = r.EachSample(func(s Sample) error {
			if !s.Time.IsZero() && (first.IsZero() || s.Time.Before(first)) {
				first = s.Time
			}
			return nil
		})
		if first.IsZero() {
			first = r.Meta.End
		}
		r.Meta.Start = first
		r.warnf("meta.json has no start; using the first sample's time (%s)", first.Format(time.RFC3339))
	}
	if !r.Meta.End.IsZero() && r.Meta.End.Before(r.Meta.Start) {
		r.warnf("meta.json ends (%s) before it starts (%s); end ignored", r.Meta.End.Format(time.RFC3339), r.Meta.Start.Format(time.RFC3339))
		r.Meta.End = time.Time{}
	}
	if r.Meta.Format > FormatVersion {
		r.warnf("run format %d is newer than this soak reads (%d); some data may be missing", r.Meta.Format, FormatVersion)
	}
	if r.Meta.Ended == "" {
		r.Meta.Ended = EndedKilled
		r.Meta.ExitCode = 0
		last := r.Meta.Start
		// A sample dated after tomorrow is damage, not the run's end: a year
		// 9999 end made every reader step through millennia.
		limit, late := time.Now().Add(24*time.Hour), 0
		_ = r.EachSample(func(s Sample) error {
			if s.Time.After(limit) {
				late++
			} else if s.Time.After(last) {
				last = s.Time
			}
			return nil
		})
		if late > 0 {
			r.warnf("%d samples dated in the future (after %s) not taken as the run's end", late, limit.Format(time.RFC3339))
		}
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
	d, err := r.OpenFile(LoadDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read phase results: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("read phase results: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			paths = append(paths, filepath.Join(LoadDir, e.Name()))
		}
	}
	sort.Strings(paths)
	var out []PhaseResult
	for _, p := range paths {
		b, err := r.ReadFile(p)
		if err != nil {
			r.warnf("%s: %v (skipped)", p, err)
			continue
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

// MaxLineBytes bounds one line of a JSONL file. Soak's own lines are a few
// KB; a longer one (a damaged or hostile file: one 200 MB line cost 1 GB and
// 22 s) is skipped unread, with a warning, and the lines after it are read.
const MaxLineBytes = 4 << 20

// eachLine decodes one JSON value per line. A missing file is empty; a
// line that does not decode is skipped with a warning (the last line of a
// killed run may be torn), as is a line over MaxLineBytes.
func eachLine[T any](r *Run, name string, fn func(T) error) error {
	f, err := r.OpenFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read run: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	long := 0
	defer func() {
		if long > 0 {
			r.warnf("%s: %d lines over %d bytes skipped", name, long, MaxLineBytes)
		}
	}()
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br, buf[:0], MaxLineBytes)
		buf = line
		if tooLong {
			long++
			if long <= 3 {
				r.warnf("%s:%d: line over %d bytes skipped", name, lineNo, MaxLineBytes)
			}
			line = nil
		}
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

// readLine appends the next line of br (with its '\n', if any) to buf. A
// line longer than max is read to its end but not kept: tooLong is set.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong && len(buf)+len(chunk) > max {
			tooLong, buf = true, buf[:0]
		}
		if !tooLong {
			buf = append(buf, chunk...)
		}
		if err != bufio.ErrBufferFull {
			return buf, tooLong, err
		}
	}
}
