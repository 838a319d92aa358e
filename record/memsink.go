package record

import "sync"

// MemSink keeps what stages write in memory instead of a run directory:
// for tests, and for tools that want a stage's output without a run.
// Safe for concurrent use.
type MemSink struct {
	mu      sync.Mutex
	samples []Sample
	conns   []Conn
	events  []Event
}

var _ Sink = (*MemSink)(nil)

// Sample keeps s.
func (m *MemSink) Sample(s Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, s)
	return nil
}

// Conn keeps c.
func (m *MemSink) Conn(c Conn) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns = append(m.conns, c)
	return nil
}

// Event keeps e.
func (m *MemSink) Event(e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

// Samples returns a copy of the samples kept so far.
func (m *MemSink) Samples() []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Sample(nil), m.samples...)
}

// Conns returns a copy of the connections kept so far.
func (m *MemSink) Conns() []Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Conn(nil), m.conns...)
}

// Events returns a copy of the events kept so far.
func (m *MemSink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}
