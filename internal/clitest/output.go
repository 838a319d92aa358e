package clitest

import (
	"strings"
	"sync"
	"time"
)

// Output collects a child's output and lets a test wait for a line while
// the child still writes (a strings.Builder would race).
type Output struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{} // closed and replaced on every write
}

func newOutput() *Output { return &Output{written: make(chan struct{})} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.written)
	o.written = make(chan struct{})
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// WaitFor reports whether text appeared within d, returning as soon as it is written.
func (o *Output) WaitFor(text string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		o.mu.Lock()
		found, written := strings.Contains(o.b.String(), text), o.written
		o.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-written:
		case <-deadline:
			return false
		}
	}
}
