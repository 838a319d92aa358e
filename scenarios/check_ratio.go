package scenarios

// RatioCheck: Numerator / Denominator stays at most Max, over samples where
// the denominator is at least MinDenominator (default 10).
type RatioCheck struct {
	Numerator      string  `yaml:"numerator" json:"numerator"`
	Denominator    string  `yaml:"denominator" json:"denominator"`
	Node           string  `yaml:"node,omitempty" json:"node,omitempty"`
	Max            float64 `yaml:"max" json:"max"`
	MinDenominator int     `yaml:"min_denominator,omitempty" json:"min_denominator,omitempty"`
}

var _ CheckSpec = (*RatioCheck)(nil)

// Kind implements CheckSpec.
func (*RatioCheck) Kind() string { return "ratio" }

func (c *RatioCheck) validate(v *validator, k string) {
	v.series(k+".numerator", c.Numerator)
	v.series(k+".denominator", c.Denominator)
	v.nodeRef(k+".node", c.Node)
	if c.Max <= 0 {
		v.fail(k+".max", "required: the largest ratio allowed, above 0")
	}
	v.nonNegative(k+".min_denominator", c.MinDenominator)
}
