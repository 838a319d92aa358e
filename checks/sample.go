package checks

import (
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
)

// sample is the part of a record.Sample that the checks read, in a compact
// form. A 24-hour run at 1 s holds 86,400 samples per node, and a decoded
// record.Sample with its maps costs about 3 KiB: judging a three-node day
// took 1 GiB. This form takes about 250 bytes and no maps.
type sample struct {
	Time       time.Time
	Goroutines *goroutineCounts // nil: no goroutine figure this tick
	FDs        *int32           // nil: no FD figure
	Process    *processFacts    // nil: no process figure
	Sockets    *socketCounts    // nil: no socket dump
}

type goroutineCounts struct {
	Total  int32
	Source string
	// byClass is indexed like goroutineClasses; hasClasses is false when
	// the source gives a total only.
	byClass    [len(goroutineClasses)]int32
	hasClasses bool
}

// goroutineClasses are the classes the probes assign (record.Class*).
var goroutineClasses = [...]string{record.ClassServerConn, record.ClassTransportRead, record.ClassTransportWrite,
	record.ClassFasthttpServer, record.ClassFasthttpClient, record.ClassOther}

type processFacts struct {
	RSS     uint64
	Threads int32
}

type socketCounts struct {
	Partial bool
	Layers  []layerCounts
}

type layerCounts struct {
	Name              string
	states            [len(socketStates)]int32
	IdleConns         int32
	CloseWaitMaxAgeMs int64
	// Idle is nil when the layer had no ESTABLISHED socket with an idle age.
	Idle *idleMax
}

type idleMax struct {
	Max       int64
	Estimated bool
}

// socketStates are the kernel states the probes count (record.LayerSockets.ByState).
var socketStates = [...]string{"ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT1", "FIN_WAIT2",
	"LAST_ACK", "CLOSING", "SYN_SENT", "SYN_RECV"}

// class returns the count of goroutine class c (0 for an unknown class).
func (g *goroutineCounts) class(c string) int32 {
	for i, name := range goroutineClasses {
		if name == c {
			return g.byClass[i]
		}
	}
	return 0
}

// layer returns the counts of the named layer, nil when it had no socket.
func (s *socketCounts) layer(name string) *layerCounts {
	for i := range s.Layers {
		if s.Layers[i].Name == name {
			return &s.Layers[i]
		}
	}
	return nil
}

// state returns the number of sockets in kernel state st (upper case).
func (l *layerCounts) state(st string) int32 {
	for i, name := range socketStates {
		if name == st {
			return l.states[i]
		}
	}
	return 0
}

// Established returns the number of ESTABLISHED sockets.
func (l *layerCounts) Established() int32 { return l.states[0] }

// compactor turns record.Samples into samples, sharing the strings that
// repeat on every line (sources, layer names).
type compactor struct{ strs map[string]string }

func newCompactor() *compactor { return &compactor{strs: map[string]string{}} }

func (c *compactor) intern(s string) string {
	if v, ok := c.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	c.strs[s] = s
	return s
}

func (c *compactor) compact(s record.Sample) sample {
	out := sample{Time: s.Time}
	if g := s.Goroutines; g != nil {
		gc := &goroutineCounts{Total: int32(g.Total), Source: c.intern(g.Source), hasClasses: g.ByClass != nil}
		for i, name := range goroutineClasses {
			gc.byClass[i] = int32(g.ByClass[name])
		}
		out.Goroutines = gc
	}
	if s.FDs != nil {
		n := int32(s.FDs.Total)
		out.FDs = &n
	}
	if p := s.Process; p != nil {
		out.Process = &processFacts{RSS: p.RSS, Threads: int32(p.Threads)}
	}
	if so := s.Sockets; so != nil {
		sc := &socketCounts{Partial: so.Partial, Layers: make([]layerCounts, 0, len(so.Layers))}
		for name, l := range so.Layers {
			if l == nil {
				continue
			}
			lc := layerCounts{Name: c.intern(name), IdleConns: int32(l.IdleConns), CloseWaitMaxAgeMs: l.CloseWaitMaxAgeMs}
			for i, st := range socketStates {
				lc.states[i] = int32(l.ByState[st])
			}
			if l.Idle != nil {
				lc.Idle = &idleMax{Max: l.Idle.Max, Estimated: l.Idle.Estimated}
			}
			sc.Layers = append(sc.Layers, lc)
		}
		out.Sockets = sc
	}
	return out
}

// compactAll compacts samples (for tests that build runData by hand).
func compactAll(ss []record.Sample) []sample {
	c := newCompactor()
	out := make([]sample, len(ss))
	for i, s := range ss {
		out[i] = c.compact(s)
	}
	return out
}
