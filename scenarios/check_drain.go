package scenarios

import "strconv"

// DrainCheck: by the end of phase After, Layer's established connections are
// back to To ("baseline", the default: the count before load; or a number).
type DrainCheck struct {
	Layer string `yaml:"layer" json:"layer"`
	After string `yaml:"after" json:"after"`
	To    string `yaml:"to,omitempty" json:"to,omitempty"`
	// Within: the drain must happen this long after the phase starts. Default: the phase's end.
	Within Duration `yaml:"within,omitempty" json:"within,omitempty"`
}

var _ CheckSpec = (*DrainCheck)(nil)

// Kind implements CheckSpec.
func (*DrainCheck) Kind() string { return "drain" }

func (c *DrainCheck) validate(v *validator, k string) {
	v.layerRef(k+".layer", c.Layer, true)
	v.phaseRef(k+".after", c.After, true)
	if to := c.To; to != "" && to != "baseline" {
		if n, err := strconv.Atoi(to); err != nil || n < 0 {
			v.fail(k+".to", "%q must be baseline or a count of connections", to)
		}
	}
}
