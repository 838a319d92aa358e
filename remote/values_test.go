package remote

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/soak-dev/soak/internal/seriestest"
)

func TestRegisteredSeriesBack(t *testing.T) {
	metric := func(v float64) model.Vector {
		return model.Vector{{Metric: model.Metric{model.MetricNameLabel: model.LabelValue(seriestest.Ticks.Metric()), "node": "n", "pid": "7"}, Value: model.SampleValue(v)}}
	}
	s, err := toSample(metric(42), "n", SourceExporter)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Values[seriestest.Ticks.Name]; !ok || got != 42 {
		t.Errorf("values %v, want %s=42", s.Values, seriestest.Ticks.Name)
	}
	if _, err := toSample(metric(math.NaN()), "n", SourceExporter); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("NaN value: err %v, want not a number", err)
	}
	// A soak_ metric no source registered is ignored, as before.
	s, err = toSample(model.Vector{{Metric: model.Metric{model.MetricNameLabel: "soak_test_other", "node": "n"}, Value: 1}}, "n", SourceExporter)
	if err != nil || s.Values != nil {
		t.Errorf("unregistered metric: values %v, err %v; want none", s.Values, err)
	}
}
