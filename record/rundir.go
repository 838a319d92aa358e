package record

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// Run directories arrive as CI artifacts and baselines: untrusted input.
// Every file soak opens or writes inside one goes through an os.Root, so a
// symlink (logs/proxy.log -> /etc/passwd, plots/x.png -> ~/.bashrc) or a
// "../" cannot take a read or a write outside the directory; writes go to a
// new file renamed into place, so a symlink inside is replaced, never
// written through.

// MaxFileRead bounds a whole-file read inside a run directory (meta.json,
// summary.json, verdict.json, a phase result): each is kilobytes.
const MaxFileRead = 64 << 20

// dirRoot is an os.Root opened on first use, safe for concurrent use.
type dirRoot struct {
	once sync.Once
	root *os.Root
	err  error
}

func (d *dirRoot) get(dir string) (*os.Root, error) {
	d.once.Do(func() {
		d.root, d.err = os.OpenRoot(dir)
		if d.err != nil {
			d.err = fmt.Errorf("open run directory: %w", d.err)
		}
	})
	return d.root, d.err
}

func (d *dirRoot) close() error {
	d.once.Do(func() { d.err = os.ErrClosed })
	if d.root == nil {
		return nil
	}
	return d.root.Close()
}

// slash turns path elements into a root-relative name.
func slash(name []string) string { return filepath.Join(name...) }

// readFileIn reads name inside root, at most MaxFileRead bytes.
func readFileIn(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileRead+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileRead {
		return nil, fmt.Errorf("%s: over %d bytes", name, MaxFileRead)
	}
	return b, nil
}

// writeFileIn writes data to name inside root through a temporary file and a
// rename, so readers never see half a file and a symlink at name is
// replaced, not followed.
func writeFileIn(root *os.Root, name string, data []byte) error {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(filepath.ToSlash(name)), "."+path.Base(filepath.ToSlash(name))+"."+hex.EncodeToString(rnd[:]))
	// Files are meant to be shared (CI artifacts, a web server for reports).
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer root.Remove(tmp) // fails harmlessly after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func writeJSONIn(root *os.Root, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path.Base(name), err)
	}
	return writeFileIn(root, name, append(b, '\n'))
}

// ReadFile reads the file at the path name (elements joined) inside the run
// directory; nothing outside it can be read, through a symlink or "..".
func (r *Run) ReadFile(name ...string) ([]byte, error) {
	root, err := r.root.get(r.Dir)
	if err != nil {
		return nil, err
	}
	return readFileIn(root, slash(name))
}

// OpenFile opens the file at name inside the run directory for reading.
func (r *Run) OpenFile(name ...string) (*os.File, error) {
	root, err := r.root.get(r.Dir)
	if err != nil {
		return nil, err
	}
	return root.Open(slash(name))
}

// Stat describes the file at name inside the run directory.
func (r *Run) Stat(name ...string) (fs.FileInfo, error) {
	root, err := r.root.get(r.Dir)
	if err != nil {
		return nil, err
	}
	return root.Stat(slash(name))
}

// Exists tells whether name exists inside the run directory.
func (r *Run) Exists(name ...string) bool {
	_, err := r.Stat(name...)
	return err == nil
}

// WriteFile replaces the file at name inside the run directory atomically,
// creating its parent directories.
func (r *Run) WriteFile(data []byte, name ...string) error {
	root, err := r.root.get(r.Dir)
	if err != nil {
		return err
	}
	n := slash(name)
	if dir := filepath.Dir(n); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
	}
	return writeFileIn(root, n, data)
}

// WriteJSON replaces the file at name with v as indented JSON, atomically.
func (r *Run) WriteJSON(v any, name ...string) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", slash(name), err)
	}
	return r.WriteFile(append(b, '\n'), name...)
}

// Close releases the run directory. The Run's files cannot be read after.
func (r *Run) Close() error { return r.root.close() }
