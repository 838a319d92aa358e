package record

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// jsonlWriter appends one JSON value per line. Each line goes out in a
// single write(2) so it is in the page cache (and survives a SIGKILL of soak)
// as soon as Append returns; Sync makes it durable. Safe for concurrent use.
type jsonlWriter struct {
	mu    sync.Mutex
	f     *os.File
	dirty bool
	buf   []byte
	// lost counts lines that failed to write; lostErr is the first failure.
	lost    int
	lostErr error
}

func openJSONL(root *os.Root, name string) (*jsonlWriter, error) {
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &jsonlWriter{f: f}, nil
}

func (w *jsonlWriter) Append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	w.buf = append(append(w.buf[:0], b...), '\n')
	if _, err := w.f.Write(w.buf); err != nil {
		// The *PathError names the file already ("write PATH: no space left
		// on device"); wrapping it again printed the path twice.
		if w.lost++; w.lostErr == nil {
			w.lostErr = err
		}
		return err
	}
	w.dirty = true
	return nil
}

func (w *jsonlWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil || !w.dirty {
		return nil
	}
	w.dirty = false
	if err := w.f.Sync(); err != nil {
		// A failed fsync may have dropped pages already written: data lost.
		err = fmt.Errorf("sync %s: %w", w.f.Name(), err)
		if w.lostErr == nil {
			w.lostErr = err
		}
		return err
	}
	return nil
}

// losses says how many lines failed to write and the first error, if any.
func (w *jsonlWriter) losses() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost, w.lostErr
}

func (w *jsonlWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
