package record

// Scenario returns the scenario as run (scenario.yaml, after --set and
// before --duration-scale, which meta.json records).
func (r *Run) Scenario() ([]byte, error) { return r.ReadFile(ScenarioFile) }
