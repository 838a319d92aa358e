package sut

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultLogLimit bounds one node's log file: a node writing 180 MB/s to
// stdout once filled a 2 GB log in 11 s. Past it, the log keeps its head
// and its tail (the last DefaultLogTail bytes, held in memory until the
// node exits) and says how many bytes in between were dropped.
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
}

// newLogCap caps f at limit bytes, of which the last tail are the output's
// last bytes. tail is at most half of limit.
func newLogCap(f *os.File, limit, tail int64) *logCap {
	if tail > limit/2 {
		tail = limit / 2
	}
	return &logCap{f: f, head: limit - tail, ring: make([]byte, 0, tail)}
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
	c.toRing(b)
	return n, nil
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

// lastLines returns the output's last n lines while the node runs and the
// file holds only the head; ok is false when the file itself ends with them.
func (c *logCap) lastLines(n int) (s string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.ring) == 0 {
		return "", false
	}
	return lastLines(c.tail(), n), true
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
	if len(c.ring) > 0 {
		note := fmt.Sprintf("\n[soak: log limit reached: %d bytes dropped here; kept the first %d and the last %d bytes]\n",
			c.dropped, c.written, len(c.ring))
		if _, err := io.WriteString(c.f, note); err != nil {
			c.f.Close()
			return err
		}
		if _, err := c.f.Write(c.tail()); err != nil {
			c.f.Close()
			return err
		}
	}
	return c.f.Close()
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
