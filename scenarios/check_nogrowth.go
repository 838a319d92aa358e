package scenarios

import "fmt"

// NoGrowthCheck: Series does not trend up during the phases named.
// Series: a name of package series (goroutines[.CLASS], fds[.TYPE], rss,
// threads, sockets.LAYER[.idle|.STATE]; docs/checks.md#series).
type NoGrowthCheck struct {
	Series string   `yaml:"series" json:"series"`
	Node   string   `yaml:"node,omitempty" json:"node,omitempty"`
	During []string `yaml:"during,omitempty" json:"during,omitempty"`
	// MaxRate is the growth allowed per hour, e.g. "10/h" in units of the series. Default 0.
	MaxRate float64 `yaml:"max_per_hour,omitempty" json:"max_per_hour,omitempty"`
}

var _ CheckSpec = (*NoGrowthCheck)(nil)

// Kind implements CheckSpec.
func (*NoGrowthCheck) Kind() string { return "no_growth" }

func (c *NoGrowthCheck) validate(v *validator, k string) {
	v.series(k+".series", c.Series)
	v.nodeRef(k+".node", c.Node)
	for i, p := range c.During {
		v.phaseRef(fmt.Sprintf("%s.during[%d]", k, i), p, true)
	}
	if c.MaxRate < 0 {
		v.fail(k+".max_per_hour", "%g is negative", c.MaxRate)
	}
}
