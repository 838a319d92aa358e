package load

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

func init() { register(newChurn) }

// timeWait is how long Linux keeps a closed connection in TIME_WAIT; churn
// needs that many seconds of its rate in source ports.
const timeWait = 60 * time.Second

// newChurn: a new connection per request (keep-alive off), so closed
// connections pile up in TIME_WAIT.
func newChurn(c *scenarios.Churn) *attackPhase {
	need := int(c.Rate.PerSecond() * timeWait.Seconds())
	return &attackPhase{kind: c.Kind(), req: c.Requests, keepAlive: false, need: need,
		steps: []attackStep{{pacer: vegeta.ConstantPacer{Freq: c.Rate.Freq, Per: c.Rate.Per}, du: c.Duration.D()}}}
}
