package scenarios

// MaxCheck: Series never exceeds Value.
type MaxCheck struct {
	Series string  `yaml:"series" json:"series"`
	Node   string  `yaml:"node,omitempty" json:"node,omitempty"`
	Value  float64 `yaml:"value" json:"value"`
}

var _ CheckSpec = (*MaxCheck)(nil)

// Kind implements CheckSpec.
func (*MaxCheck) Kind() string { return "max" }

func (c *MaxCheck) validate(v *validator, k string) {
	v.series(k+".series", c.Series)
	v.nodeRef(k+".node", c.Node)
}
