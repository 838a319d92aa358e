package record

// StackGrowth is one group of goroutines that grew between the baseline
// (the last sample before load) and the end of a run: a goroutine class
// (net/http's per-connection goroutines...) or, for class other, the
// stacks merged by their first frame outside the runtime (Goroutines.Top).
type StackGrowth struct {
	// Func is the first frame outside the runtime, e.g.
	// "github.com/x/y.(*Cache).refresh" or "net/http.(*persistConn).readLoop".
	Func  string `json:"func"`
	Class string `json:"class"`
	Base  int    `json:"base"`
	End   int    `json:"end"`
	// Growth is End - Base.
	Growth int `json:"growth"`
	// BaseUnknown is set when the stack was not among the few a sample
	// keeps at the baseline: Base is then 0 and Growth an upper bound.
	BaseUnknown bool `json:"base_unknown,omitempty"`
}
