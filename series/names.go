// Package series owns every series name a scenario can write
// (goroutines.CLASS, fds.TYPE, rss, threads, sockets.LAYER[.idle|.STATE]):
// the grammar, the units, the lists of goroutine classes, FD types and TCP
// states, and the value of a series in a sample. Validation, checks and
// reports all read names through it, so a name is either known everywhere
// or rejected at `soak validate` with a suggestion, never read as 0.
package series

import (
	"fmt"
	"slices"
	"strings"

	"github.com/soak-dev/soak/record"
)

// Kind is the family of a series: its first dotted part.
type Kind string

// Series kinds.
const (
	Goroutines Kind = "goroutines" // total, or goroutines.CLASS
	FDs        Kind = "fds"        // total, or fds.TYPE
	RSS        Kind = "rss"        // resident memory, bytes
	Threads    Kind = "threads"    // OS threads
	Sockets    Kind = "sockets"    // sockets.LAYER[.idle|.STATE]
)

// Kinds are the series kinds, in the order docs list them.
var Kinds = []Kind{Goroutines, FDs, RSS, Threads, Sockets}

// Classes are the goroutine classes the probes assign.
var Classes = [...]string{record.ClassServerConn, record.ClassTransportRead, record.ClassTransportWrite,
	record.ClassFasthttpServer, record.ClassFasthttpClient, record.ClassOther}

// FDTypes are the file descriptor types the probes count.
var FDTypes = [...]string{record.FDSocket, record.FDFile, record.FDPipe, record.FDAnon, record.FDOther}

// TCP states as the probes name them (include/net/tcp_states.h). Listening
// sockets are never counted.
const (
	Established = "ESTABLISHED"
	SynSent     = "SYN_SENT"
	SynRecv     = "SYN_RECV"
	FinWait1    = "FIN_WAIT1"
	FinWait2    = "FIN_WAIT2"
	TimeWait    = "TIME_WAIT"
	Close       = "CLOSE"
	CloseWait   = "CLOSE_WAIT"
	LastAck     = "LAST_ACK"
	Listen      = "LISTEN"
	Closing     = "CLOSING"
)

// States are the TCP states a socket series can name; Established first.
var States = [...]string{Established, SynSent, SynRecv, FinWait1, FinWait2, TimeWait, Close, CloseWait, LastAck, Closing}

// Idle is the detail of sockets.LAYER.idle: ESTABLISHED sockets idle for at
// least record.IdleThresholdMs.
const Idle = "idle"

// Pseudo-layers a socket series may name besides the scenario's layers.
const (
	AllLayers = "all"             // every layer added up, record.LayerOther included
	Other     = record.LayerOther // sockets that match no layer rule
)

// Grammar is the series grammar, for error messages and docs.
const Grammar = "goroutines, goroutines.CLASS, fds, fds.TYPE, rss, threads, sockets.LAYER, sockets.LAYER.idle, sockets.LAYER.STATE"

// Name is a parsed series name.
type Name struct {
	Text   string // as written
	Kind   Kind
	Class  string // goroutines.CLASS; "" for the total
	FDType string // fds.TYPE; "" for the total
	Layer  string // sockets.LAYER: a layer, AllLayers or Other
	Detail string // sockets: "" (ESTABLISHED), Idle or a state of States
	reg    int    // a registered series (Def): 1 + its index; 0 for a built-in kind
}

// Parse reads a series name. It knows every class, FD type and state but
// not the scenario's layers: Check does that. The error says what is wrong
// and, when a known name is close, suggests it.
func Parse(s string) (Name, error) {
	n := Name{Text: s}
	if s == "" {
		return n, unknown(s, fmt.Sprintf("required: a series (%s)", grammar()), "")
	}
	parts := strings.Split(s, ".")
	n.Kind = Kind(parts[0])
	switch n.Kind {
	case Goroutines:
		if len(parts) > 2 {
			return n, unknown(s, "goroutines takes one class, e.g. goroutines.server-conn", "")
		}
		if len(parts) == 2 {
			n.Class = parts[1]
			if !slices.Contains(Classes[:], n.Class) {
				return n, unknown(s, fmt.Sprintf("unknown goroutine class %q (classes: %s)", n.Class, strings.Join(Classes[:], ", ")),
					closest(n.Class, Classes[:], "goroutines."))
			}
		}
	case FDs:
		if len(parts) > 2 {
			return n, unknown(s, "fds takes one type, e.g. fds.socket", "")
		}
		if len(parts) == 2 {
			n.FDType = parts[1]
			if !slices.Contains(FDTypes[:], n.FDType) {
				return n, unknown(s, fmt.Sprintf("unknown file descriptor type %q (types: %s)", n.FDType, strings.Join(FDTypes[:], ", ")),
					closest(n.FDType, FDTypes[:], "fds."))
			}
		}
	case RSS, Threads:
		if len(parts) > 1 {
			return n, unknown(s, fmt.Sprintf("%s takes no qualifier", n.Kind), string(n.Kind))
		}
	case Sockets:
		if len(parts) < 2 || parts[1] == "" {
			return n, unknown(s, "sockets names a layer: sockets.LAYER, sockets.LAYER.idle or sockets.LAYER.STATE", "")
		}
		if len(parts) > 3 {
			return n, unknown(s, "too many parts: sockets.LAYER, sockets.LAYER.idle or sockets.LAYER.STATE", "")
		}
		n.Layer = parts[1]
		if len(parts) == 3 {
			n.Detail = parts[2]
			if err := checkDetail(n); err != nil {
				return n, err
			}
		}
	default:
		return parseRegistered(n, parts)
	}
	return n, nil
}

func checkDetail(n Name) error {
	d := n.Detail
	if d == Idle || slices.Contains(States[:], d) {
		return nil
	}
	pre := "sockets." + n.Layer + "."
	if d == Listen {
		return unknown(n.Text, "listening sockets are not counted", "")
	}
	cands := append([]string{Idle}, States[:]...)
	return unknown(n.Text, fmt.Sprintf("%q is neither idle nor a TCP state (%s)", d, strings.Join(States[:], ", ")),
		closest(d, cands, pre))
}

func tail(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return "." + strings.Join(parts, ".")
}

// Check parses s and checks its layer against the scenario's layers
// (AllLayers and Other are always known).
func Check(s string, layers []string) (Name, error) {
	n, err := Parse(s)
	if err != nil || n.Kind != Sockets {
		return n, err
	}
	if n.Layer == AllLayers || n.Layer == Other || slices.Contains(layers, n.Layer) {
		return n, nil
	}
	real := slices.DeleteFunc(slices.Clone(layers), func(l string) bool { return l == AllLayers || l == Other })
	known := "none defined"
	if len(real) > 0 {
		known = strings.Join(real, ", ")
	}
	rest := ""
	if n.Detail != "" {
		rest = "." + n.Detail
	}
	return n, unknown(s, fmt.Sprintf("unknown layer %q (layers: %s; or %s, %s)", n.Layer, known, AllLayers, Other),
		closestWith(n.Layer, append(real, AllLayers, Other), "sockets.", rest))
}

// Unit is the unit of the series' values.
func (n Name) Unit() string {
	if n.reg > 0 {
		return registered[n.reg-1].Unit
	}
	switch n.Kind {
	case RSS:
		return "bytes"
	case Sockets:
		return "conns"
	}
	return string(n.Kind)
}

// OneLayer returns the layer whose node a series is judged on, "" when the
// series is not about one layer (sockets.all and sockets.other span nodes).
func (n Name) OneLayer() string {
	if n.Layer == AllLayers || n.Layer == Other {
		return ""
	}
	return n.Layer
}

// Socket returns the name of a socket series: sockets.LAYER, or
// sockets.LAYER.DETAIL when detail is Idle or a state.
func Socket(layer, detail string) string {
	if detail == "" {
		return "sockets." + layer
	}
	return "sockets." + layer + "." + detail
}

// Error is an unknown or malformed series name.
type Error struct {
	Name       string // as written
	Why        string
	Suggestion string // a close known name, or ""
}

func (e *Error) Error() string {
	msg := e.Why
	if e.Name != "" {
		msg = fmt.Sprintf("%q: %s", e.Name, e.Why)
	}
	if e.Suggestion != "" && e.Suggestion != e.Name {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggestion)
	}
	return msg
}

func unknown(name, why, suggestion string) error {
	return &Error{Name: name, Why: why, Suggestion: suggestion}
}
