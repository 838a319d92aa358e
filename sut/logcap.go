package sut

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// DefaultLogLimit bounds one node's log file: a node writing 180 MB/s to
// stdout once filled a 2 GB log in 11 s. Past it, the log keeps its head
// and its tail (the last DefaultLogTail bytes) and says how many bytes in
// between were dropped. The tail is written to the file as it comes, so a
// SIGKILLed soak leaves it too (see fileTail).
const (
	DefaultLogLimit = 64 << 20
	DefaultLogTail  = 4 << 20
)

// logCap writes a node's output to its log file up to a limit. Safe for
// concurrent use (stdout and stderr share it).
type logCap struct {
	mu      sync.Mutex
	f       *os.File
	head    int64  // bytes that may still go straight to the file
	written int64  // bytes that went straight to the file
	ring    []byte // the tail, once head is used up; len == tail size
	pos     int    // next write position in ring
	full    bool   // ring has wrapped
	dropped int64  // bytes overwritten in ring: lost
	closed  bool
	final   []byte // the log's last bytes, kept by Close for lastLines

	// The tail on disk, after the head and a note: between half and all of
	// cap(ring) recent bytes, so a SIGKILL (no Close) keeps a recent tail.
	// Close rewrites it from ring, in order, with the final note.
	base    int64 // the file's offset when the cap started
	noted   bool  // the live note is written, at noteOff (base+written)
	noteOff int64
	segLen  int64 // tail bytes after the note
	past    int64 // bytes past the head, in all
	fileErr error // the first failed tail write; the tail stays in ring
}

// liveNoteLen is the fixed length of the note while the node runs, so it
// can be rewritten in place as the count grows.
const liveNoteLen = 160

// newLogCap caps f at limit bytes, of which the last tail are the output's
// last bytes. tail is at most half of limit.
func newLogCap(f *os.File, limit, tail int64) *logCap {
	if tail > limit/2 {
		tail = limit / 2
	}
	base, _ := f.Seek(0, io.SeekCurrent)
	return &logCap{f: f, head: limit - tail, ring: make([]byte, 0, tail), base: base}
}

func (c *logCap) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(b)
	if c.closed {
		return 0, os.ErrClosed
	}
	if c.head > 0 {
		k := min(int64(len(b)), c.head)
		if _, err := c.f.Write(b[:k]); err != nil {
			return 0, err
		}
		c.head -= k
		c.written += k
		b = b[k:]
	}
	if len(b) > 0 {
		c.toRing(b)
		c.toFile(b)
	}
	return n, nil
}

// toFile appends b, past the head, to the tail on disk. When the tail would
// pass cap(ring), the last half of ring (which ends with b) is written over
// it and the file cut there: each byte is written about twice, the file
// stays within the limit, and the note is brought up to date. A SIGKILL
// between that write and the cut leaves older bytes after the recent ones,
// never fewer recent bytes.
func (c *logCap) toFile(b []byte) {
	if c.fileErr != nil {
		return
	}
	c.past += int64(len(b))
	if !c.noted {
		c.noted, c.noteOff = true, c.base+c.written
		c.fileErr = c.liveNote()
	}
	tailOff := c.noteOff + liveNoteLen
	size := int64(cap(c.ring))
	if c.segLen+int64(len(b)) <= size {
		if c.fileErr == nil {
			_, c.fileErr = c.f.WriteAt(b, tailOff+c.segLen)
			c.segLen += int64(len(b))
		}
		return
	}
	// The last half of ring, in at most two pieces (no copy: at 180 MB/s
	// this runs ~90 times a second with the default tail).
	keep := int(max(size/2, 1))
	older, newer := c.ring, []byte(nil)
	if c.full {
		older, newer = c.ring[c.pos:], c.ring[:c.pos]
	}
	if len(newer) >= keep {
		older, newer = nil, newer[len(newer)-keep:]
	} else {
		older = older[len(older)-(keep-len(newer)):]
	}
	if _, err := c.f.WriteAt(older, tailOff); err != nil {
		c.fileErr = err
		return
	}
	if _, err := c.f.WriteAt(newer, tailOff+int64(len(older))); err != nil {
		c.fileErr = err
		return
	}
	if err := c.f.Truncate(tailOff + int64(keep)); err != nil {
		c.fileErr = err
		return
	}
	c.segLen = int64(keep)
	c.fileErr = c.liveNote()
}

// liveNote writes the note while the node runs, at its fixed length.
func (c *logCap) liveNote() error {
	note := fmt.Sprintf("\n[soak: log limit reached: %d bytes dropped here so far; the output's last bytes follow (a log that ends so was not closed: soak was killed)]",
		c.past-c.segLen)
	note += strings.Repeat(" ", max(0, liveNoteLen-1-len(note))) + "\n"
	_, err := c.f.WriteAt([]byte(note[:liveNoteLen]), c.noteOff)
	return err
}

// toRing keeps the last cap(ring) bytes written past the head.
func (c *logCap) toRing(b []byte) {
	size := cap(c.ring)
	if size == 0 {
		c.dropped += int64(len(b))
		return
	}
	if len(b) > size {
		c.dropped += int64(len(b) - size)
		b = b[len(b)-size:]
	}
	for len(b) > 0 {
		if !c.full && len(c.ring) < size {
			k := min(len(b), size-len(c.ring))
			c.ring = append(c.ring, b[:k]...)
			b = b[k:]
			if len(c.ring) == size {
				c.full, c.pos = true, 0
			}
			continue
		}
		k := copy(c.ring[c.pos:], b)
		c.dropped += int64(k)
		c.pos = (c.pos + k) % size
		b = b[k:]
	}
}

// tail returns the bytes held past the head, oldest first.
func (c *logCap) tail() []byte {
	if !c.full {
		return c.ring
	}
	return append(append([]byte(nil), c.ring[c.pos:]...), c.ring[:c.pos]...)
}

// tailWindow is how much of the log's end lastLines reads.
const tailWindow = 64 << 10

// lastLines returns the output's last n lines: from ring past the head,
// else from the file's last bytes, read through its descriptor; after
// Close, from the bytes kept then.
func (c *logCap) lastLines(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return lastLines(c.final, n)
	}
	if len(c.ring) > 0 {
		return lastLines(c.tail(), n)
	}
	return lastLines(c.fileEnd(), n)
}

// fileEnd reads the file's last tailWindow bytes through its descriptor,
// without the first, cut line.
func (c *logCap) fileEnd() []byte {
	st, err := c.f.Stat()
	if err != nil {
		return nil
	}
	off := max(st.Size()-tailWindow, c.base)
	b := make([]byte, st.Size()-off)
	k, _ := c.f.ReadAt(b, off)
	b = b[:k]
	if off > c.base {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

// Close writes the note on what was dropped and the tail, then closes the
// file.
func (c *logCap) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if len(c.ring) > 0 {
		// The live note and tail are replaced by the final note and the
		// tail in order, from ring.
		note := fmt.Sprintf("\n[soak: log limit reached: %d bytes dropped here; kept the first %d and the last %d bytes]\n",
			c.dropped, c.written, len(c.ring))
		final := append([]byte(note), c.tail()...)
		if _, err = c.f.WriteAt(final, c.noteOff); err == nil {
			err = c.f.Truncate(c.noteOff + int64(len(final)))
		}
	}
	c.final = c.fileEnd()
	return errors.Join(err, c.f.Close())
}

// lastLines returns the last n lines of b, without terminal escapes.
func lastLines(b []byte, n int) string {
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return Sanitize(string(bytes.Join(lines, []byte("\n"))))
}
