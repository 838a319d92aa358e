package scenarios

// ReclaimCheck: no connection of Layer stays idle longer than Within
// (default: the layer's idle timeout) plus Tolerance (default: 500ms
// plus the run's timer lateness, plus one interval without kernel events).
type ReclaimCheck struct {
	Layer     string   `yaml:"layer" json:"layer"`
	Within    Duration `yaml:"within,omitempty" json:"within,omitempty"`
	Tolerance Duration `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
}

var _ CheckSpec = (*ReclaimCheck)(nil)

// Kind implements CheckSpec.
func (*ReclaimCheck) Kind() string { return "reclaim" }

func (c *ReclaimCheck) validate(v *validator, k string) {
	v.layerRef(k+".layer", c.Layer, true)
}
