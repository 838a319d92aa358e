package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultSyncEvery is how often a Writer fsyncs its files.
const DefaultSyncEvery = 2 * time.Second

// Writer appends to one run directory. Safe for concurrent use; the Sink
// methods never block on anything but the disk.
type Writer struct {
	dir                    string
	root                   *os.Root
	samples, conns, events *jsonlWriter
	stop                   chan struct{}
	done                   chan struct{}
	closeOnce              sync.Once
	metaMu                 sync.Mutex
}

// Sink is what stages write to while a run goes on. Writer implements it;
// tests may pass their own.
type Sink interface {
	Sample(Sample) error
	Conn(Conn) error
	Event(Event) error
}

var _ Sink = (*Writer)(nil)

// Create makes the run directory dir (which must not exist yet, or be empty)
// and opens its files for appending.
func Create(dir string) (*Writer, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("run directory %s already exists and is not empty", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, LoadDir), filepath.Join(dir, LogsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	w := &Writer{dir: dir, root: root, stop: make(chan struct{}), done: make(chan struct{})}
	if w.samples, err = openJSONL(root, SamplesFile); err != nil {
		return nil, errors.Join(err, w.closeFiles())
	}
	if w.conns, err = openJSONL(root, ConnsFile); err != nil {
		return nil, errors.Join(err, w.closeFiles())
	}
	if w.events, err = openJSONL(root, EventsFile); err != nil {
		return nil, errors.Join(err, w.closeFiles())
	}
	go w.syncLoop(DefaultSyncEvery)
	return w, nil
}

// Dir returns the run directory.
func (w *Writer) Dir() string { return w.dir }

// Path returns the path of name inside the run directory.
func (w *Writer) Path(name ...string) string {
	return filepath.Join(append([]string{w.dir}, name...)...)
}

// Sample appends a probe sample.
func (w *Writer) Sample(s Sample) error { return w.samples.Append(s) }

// Conn appends a finished connection.
func (w *Writer) Conn(c Conn) error { return w.conns.Append(c) }

// Event appends an event; a zero Time is set to now.
func (w *Writer) Event(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return w.events.Append(e)
}

// WriteFile replaces the file at name (elements joined) inside the run
// directory atomically, creating its parent directories, all through the
// directory's os.Root: a symlink or ".." planted on the way (by a node that
// started earlier) cannot take the write outside, and a symlink at name is
// replaced, never written through.
func (w *Writer) WriteFile(data []byte, name ...string) error {
	n := slash(name)
	if dir := filepath.Dir(n); dir != "." {
		if err := w.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
	}
	return writeFileIn(w.root, n, data)
}

// CreateFile creates (or empties) the file at name inside the run
// directory for reading and writing, through the directory's os.Root, so a
// symlink planted on its way out of the directory is refused.
func (w *Writer) CreateFile(name ...string) (*os.File, error) {
	n := slash(name)
	if dir := filepath.Dir(n); dir != "." {
		if err := w.root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", n, err)
		}
	}
	f, err := w.root.OpenFile(n, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", n, err)
	}
	return f, nil
}

// WriteMeta replaces meta.json atomically (write to a temporary file, fsync, rename).
func (w *Writer) WriteMeta(m Meta) error {
	w.metaMu.Lock()
	defer w.metaMu.Unlock()
	m.Format = FormatVersion
	return writeJSONIn(w.root, MetaFile, m)
}

// Losses describes the data this Writer failed to keep, one line per file
// ("samples.jsonl: 12 lines not written: write ...: no space left on
// device"); empty when nothing was lost. A run with losses cannot be judged
// as if it were whole.
func (w *Writer) Losses() []string {
	var out []string
	for _, f := range []struct {
		name string
		w    *jsonlWriter
	}{{SamplesFile, w.samples}, {ConnsFile, w.conns}, {EventsFile, w.events}} {
		n, err := f.w.losses()
		switch {
		case n > 0:
			out = append(out, fmt.Sprintf("%s: %d lines not written: %v", f.name, n, err))
		case err != nil:
			out = append(out, fmt.Sprintf("%s: %v", f.name, err))
		}
	}
	return out
}

// Sync fsyncs all files now.
func (w *Writer) Sync() error {
	return errors.Join(w.samples.Sync(), w.conns.Sync(), w.events.Sync())
}

// Close stops the sync loop, fsyncs and closes the files. Safe to call twice.
func (w *Writer) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		err = w.closeFiles()
	})
	return err
}

// closeFiles closes what Create opened.
func (w *Writer) closeFiles() error {
	var errs []error
	for _, j := range []*jsonlWriter{w.samples, w.conns, w.events} {
		if j != nil {
			errs = append(errs, j.Close())
		}
	}
	return errors.Join(append(errs, w.root.Close())...)
}

func (w *Writer) syncLoop(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Sync() // a failed fsync is retried next tick; Close reports it
		}
	}
}

// WriteJSONAtomic writes v as indented JSON to path through a temporary file
// and a rename, so readers never see half a file.
func WriteJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename, inside an os.Root of path's directory: a symlink at path is
// replaced, never written through.
func WriteFileAtomic(path string, data []byte) error {
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer root.Close()
	return writeFileIn(root, filepath.Base(path), data)
}
