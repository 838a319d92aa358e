package record

// Reclaimed is a layer's effective idle timeout as one witness measured it:
// the idle time before close of the connections the SUT closed (the side on
// the layer's node), in seconds. Where the other side always closed first
// (a hold that ended, a backend that closed first), there is no
// measurement, only a lower bound: the SUT kept an idle connection at least
// LowerBoundS.
type Reclaimed struct {
	Layer   string `json:"layer"`
	Witness string `json:"witness"`
	// Count is the number of idle connections closed by the SUT; MedianS,
	// P90S and MaxS their idle time before close. All 0 when Count is 0.
	Count   int     `json:"count"`
	MedianS float64 `json:"median_s,omitempty"`
	P90S    float64 `json:"p90_s,omitempty"`
	MaxS    float64 `json:"max_s,omitempty"`
	// LowerBoundS is the longest idle gap of a connection the other side
	// closed, or that was still open at the end (LowerBoundCount of them);
	// LowerBoundWhy says who ended it first, e.g. "the hold ended first".
	LowerBoundS     float64 `json:"lower_bound_s,omitempty"`
	LowerBoundCount int     `json:"lower_bound_count,omitempty"`
	LowerBoundWhy   string  `json:"lower_bound_why,omitempty"`
	// Resolution is how precisely a close is timed: the sample interval for
	// the kernel (its figure is the idle age at the last sample before the
	// close, so up to one interval short), the peek interval for the client.
	ResolutionS float64 `json:"resolution_s,omitempty"`
}

// Measured reports whether the witness timed any SUT close.
func (r Reclaimed) Measured() bool { return r.Count > 0 }
