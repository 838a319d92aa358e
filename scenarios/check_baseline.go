package scenarios

import (
	"strconv"
	"strings"
)

// BaselineCheck: at the end of phase After, Series is within Tolerance of
// its value before load (absolute, or relative with "%": "10%").
type BaselineCheck struct {
	Series    string `yaml:"series" json:"series"`
	Node      string `yaml:"node,omitempty" json:"node,omitempty"`
	After     string `yaml:"after" json:"after"`
	Tolerance string `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
}

var _ CheckSpec = (*BaselineCheck)(nil)

// Kind implements CheckSpec.
func (*BaselineCheck) Kind() string { return "baseline" }

func (c *BaselineCheck) validate(v *validator, k string) {
	v.series(k+".series", c.Series)
	v.nodeRef(k+".node", c.Node)
	v.phaseRef(k+".after", c.After, true)
	if t := strings.TrimSuffix(c.Tolerance, "%"); t != "" {
		if f, err := strconv.ParseFloat(t, 64); err != nil || f < 0 {
			v.fail(k+".tolerance", "%q must be a number, or a percentage like 10%%", c.Tolerance)
		}
	}
}
