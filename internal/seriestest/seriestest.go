// Package seriestest registers a series for tests, as a probe source
// registers its own: importing it makes "test.ticks" a series that
// validation, checks, the exporter, remote nodes and reports know, so each
// can show it handles a source it has no code for. Only tests import it.
package seriestest

import "github.com/soak-dev/soak/series"

// Ticks is the registered test series: a count, unit "ticks".
var Ticks = series.Register(series.Def{Name: "test.ticks", Unit: "ticks", Help: "a test source's ticks"})
