package series

import (
	"math"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
)

// Sample is the part of a record.Sample that series are read from, in a
// compact form. A 24-hour run at 1 s holds 86,400 samples per node, and a
// decoded record.Sample with its maps costs about 3 KiB: judging a
// three-node day took 1 GiB. This form takes about 300 bytes and no maps.
type Sample struct {
	Time       time.Time
	Goroutines *GoroutineCounts // nil: no goroutine figure this tick
	FDs        *FDCounts        // nil: no FD figure
	Process    *ProcessFacts    // nil: no process figure
	Sockets    *SocketCounts    // nil: no socket dump
	// Values are the registered series (Def), indexed like Registered();
	// NaN where the sample has no value; nil when it has none at all.
	Values []float64
}

// GoroutineCounts are a sample's goroutines.
type GoroutineCounts struct {
	Total  int32
	Source string // record.Source*
	// ByClass is indexed like Classes; HasClasses is false when the source
	// gives a total only.
	ByClass    [len(Classes)]int32
	HasClasses bool
}

// FDCounts are a sample's file descriptors.
type FDCounts struct {
	Total int32
	// ByType is indexed like FDTypes; HasTypes is false when the probe
	// gave a total only.
	ByType   [len(FDTypes)]int32
	HasTypes bool
}

// ProcessFacts are a sample's OS facts.
type ProcessFacts struct {
	RSS     uint64
	Threads int32
}

// SocketCounts are a sample's sockets by layer.
type SocketCounts struct {
	Partial bool // the dump was interrupted: counts may be low
	Layers  []LayerCounts
}

// LayerCounts are the sockets of one layer.
type LayerCounts struct {
	Name              string
	States            [len(States)]int32 // indexed like States
	IdleConns         int32
	CloseWaitMaxAgeMs int64
	// Idle is nil when the layer had no ESTABLISHED socket with an idle age.
	Idle *IdleMax
}

// IdleMax is the longest idle age of a layer's ESTABLISHED sockets.
type IdleMax struct {
	Max       int64
	Estimated bool
}

// Layer returns the counts of the named layer, nil when it had no socket.
func (s *SocketCounts) Layer(name string) *LayerCounts {
	for i := range s.Layers {
		if s.Layers[i].Name == name {
			return &s.Layers[i]
		}
	}
	return nil
}

// State returns the number of sockets in state st, a name of States.
func (l *LayerCounts) State(st string) int32 {
	if i := index(States[:], st); i >= 0 {
		return l.States[i]
	}
	return 0
}

// Established returns the number of ESTABLISHED sockets.
func (l *LayerCounts) Established() int32 { return l.States[0] }

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Compactor turns record.Samples into Samples, sharing the strings that
// repeat on every line (sources, layer names). Not safe for concurrent use.
type Compactor struct{ strs map[string]string }

// NewCompactor returns an empty Compactor.
func NewCompactor() *Compactor { return &Compactor{strs: map[string]string{}} }

// Intern returns a shared copy of s.
func (c *Compactor) Intern(s string) string {
	if v, ok := c.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	c.strs[s] = s
	return s
}

// Compact returns the compact form of s.
func (c *Compactor) Compact(s record.Sample) Sample {
	out := Sample{Time: s.Time}
	if g := s.Goroutines; g != nil {
		gc := &GoroutineCounts{Total: int32(g.Total), Source: c.Intern(g.Source), HasClasses: g.ByClass != nil}
		for i, name := range Classes {
			gc.ByClass[i] = int32(g.ByClass[name])
		}
		out.Goroutines = gc
	}
	if f := s.FDs; f != nil {
		fc := &FDCounts{Total: int32(f.Total), HasTypes: f.ByType != nil}
		for i, t := range FDTypes {
			fc.ByType[i] = int32(f.ByType[t])
		}
		out.FDs = fc
	}
	if p := s.Process; p != nil {
		out.Process = &ProcessFacts{RSS: p.RSS, Threads: int32(p.Threads)}
	}
	if so := s.Sockets; so != nil {
		sc := &SocketCounts{Partial: so.Partial, Layers: make([]LayerCounts, 0, len(so.Layers))}
		for name, l := range so.Layers {
			if l == nil {
				continue
			}
			lc := LayerCounts{Name: c.Intern(name), IdleConns: int32(l.IdleConns), CloseWaitMaxAgeMs: l.CloseWaitMaxAgeMs}
			for i, st := range States {
				lc.States[i] = int32(l.ByState[st])
			}
			if l.Idle != nil {
				lc.Idle = &IdleMax{Max: l.Idle.Max, Estimated: l.Idle.Estimated}
			}
			sc.Layers = append(sc.Layers, lc)
		}
		out.Sockets = sc
	}
	if len(s.Values) > 0 && len(registered) > 0 {
		out.Values = make([]float64, len(registered))
		for i, d := range registered {
			v, ok := s.Values[d.Name]
			if !ok {
				v = math.NaN()
			}
			out.Values[i] = v
		}
	}
	return out
}

// CompactAll compacts samples.
func CompactAll(ss []record.Sample) []Sample {
	c := NewCompactor()
	out := make([]Sample, len(ss))
	for i, s := range ss {
		out[i] = c.Compact(s)
	}
	return out
}

// Value returns the series' value in one sample; ok is false when the
// sample has no such figure (a probe failed, the node is gone, or the
// goroutine source gives no classes). A layer with no socket this tick is
// absent from the dump and reads 0: Check has made sure it exists.
func (n Name) Value(smp *Sample) (v float64, ok bool) {
	if n.reg > 0 {
		if i := n.reg - 1; i < len(smp.Values) && !math.IsNaN(smp.Values[i]) {
			return smp.Values[i], true
		}
		return 0, false
	}
	switch n.Kind {
	case Goroutines:
		g := smp.Goroutines
		if g == nil {
			return 0, false
		}
		if n.Class != "" {
			i := index(Classes[:], n.Class)
			if i < 0 || !g.HasClasses {
				return 0, false
			}
			return float64(g.ByClass[i]), true
		}
		return float64(g.Total), true
	case FDs:
		f := smp.FDs
		if f == nil {
			return 0, false
		}
		if n.FDType != "" {
			i := index(FDTypes[:], n.FDType)
			if i < 0 || !f.HasTypes {
				return 0, false
			}
			return float64(f.ByType[i]), true
		}
		return float64(f.Total), true
	case RSS:
		if smp.Process == nil {
			return 0, false
		}
		return float64(smp.Process.RSS), true
	case Threads:
		if smp.Process == nil {
			return 0, false
		}
		return float64(smp.Process.Threads), true
	case Sockets:
		if smp.Sockets == nil {
			return 0, false
		}
		var sum float64
		for i := range smp.Sockets.Layers {
			l := &smp.Sockets.Layers[i]
			if n.Layer != AllLayers && l.Name != n.Layer {
				continue
			}
			v, ok := n.layerValue(l)
			if !ok {
				return 0, false
			}
			sum += v
		}
		return sum, true
	}
	return 0, false
}

func (n Name) layerValue(l *LayerCounts) (float64, bool) {
	switch n.Detail {
	case "":
		return float64(l.Established()), true
	case Idle:
		return float64(l.IdleConns), true
	}
	i := index(States[:], n.Detail)
	if i < 0 {
		return 0, false
	}
	return float64(l.States[i]), true
}
