package scenarios

// CloseWaitCheck: no socket (of Layer, or any) sits in CLOSE_WAIT longer than MaxAge.
type CloseWaitCheck struct {
	Layer  string   `yaml:"layer,omitempty" json:"layer,omitempty"`
	MaxAge Duration `yaml:"max_age" json:"max_age"`
}

var _ CheckSpec = (*CloseWaitCheck)(nil)

// Kind implements CheckSpec.
func (*CloseWaitCheck) Kind() string { return "close_wait" }

func (c *CloseWaitCheck) validate(v *validator, k string) {
	v.layerRef(k+".layer", c.Layer, false)
	v.positiveDuration(k+".max_age", c.MaxAge)
}
