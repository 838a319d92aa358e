package scenarios

import (
	"strings"
	"testing"
)

func TestSegmentPartsSum(t *testing.T) {
	t.Parallel()
	for _, x := range []int{0, 1, 2, 3, 7, 10, 99, 1000, 123457} {
		for n := 1; n <= 9; n++ {
			sum, lo, hi := 0, x, 0
			for i := 1; i <= n; i++ {
				p := Segment{Index: i, Count: n}.Part(x)
				sum += p
				lo, hi = min(lo, p), max(hi, p)
			}
			if sum != x || hi-lo > 1 {
				t.Errorf("x=%d n=%d: parts sum to %d (want %d), spread %d..%d", x, n, sum, x, lo, hi)
			}
		}
	}
}

func TestParseSegment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, err string }{
		{"1/1", ""}, {"2/3", ""}, {" 3/3 ", ""},
		{"0/3", "want 1 <= I <= N"}, {"4/3", "want 1 <= I <= N"}, {"1/1001", "want 1 <= I <= N"},
		{"1", "want I/N"}, {"a/b", "want I/N"}, {"", "want I/N"},
	} {
		_, err := ParseSegment(tc.in)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

// TestShardSumsToWhole: every kind's counts and rates, summed over the
// shards, are the unsharded scenario's; a shard with nothing to do sits
// the phase out (quiet, same length), setup steps run on shard 1 only.
func TestShardSumsToWhole(t *testing.T) {
	t.Parallel()
	const text = `name: s
nodes: {a: {command: [x]}}
phases:
  - {name: setup, request: {target: "PUT /b"}}
  - {name: warm, steady: {rate: 100/s, duration: 3s, connections: 10}}
  - {name: few, steady: {rate: 2/s, duration: 3s}}
  - {name: up, ramp: {from: 0/s, to: 50/s, duration: 3s}}
  - {name: burst, burst: {count: 31, bursts: 2, pause: 1s, rate: 7/s}}
  - {name: churn, churn: {rate: 11/s, duration: 2s}}
  - {name: hold, idle: {connections: 25, duration: 4s}}
  - {name: slow, slow: {connections: 5, duration: 2s}}
  - {name: gone, abandon: {connections: 4, duration: 2s}}
  - {name: rest, quiet: {duration: 2s}}
`
	whole := mustParse(t, "s.yaml", []byte(text))
	const n = 3
	sum := map[string]int{}
	quiet := map[string]int{}
	for i := 1; i <= n; i++ {
		sc := mustParse(t, "s.yaml", []byte(text))
		if err := sc.Shard(Segment{Index: i, Count: n}); err != nil {
			t.Fatal(err)
		}
		for j, p := range sc.Phases {
			if p.Name != whole.Phases[j].Name || p.Repeat != whole.Phases[j].Repeat {
				t.Fatalf("shard %d: phase %d is %s, want %s", i, j, p.Name, whole.Phases[j].Name)
			}
			if p.Quiet != nil && whole.Phases[j].Quiet == nil {
				quiet[p.Name]++
				if p.Name != "setup" && p.Planned() != whole.Phases[j].Planned() {
					t.Errorf("shard %d sits %s out for %v, want its planned %v", i, p.Name, p.Planned(), whole.Phases[j].Planned())
				}
				continue
			}
			switch {
			case p.Steady != nil:
				sum[p.Name+".rate"] += p.Steady.Rate.Freq
				sum[p.Name+".connections"] += p.Steady.Connections
			case p.Ramp != nil:
				sum["up.to"] += p.Ramp.To.Freq
				sum["up.from"] += p.Ramp.From.Freq
			case p.Burst != nil:
				sum["burst.count"] += p.Burst.Count
			case p.Churn != nil:
				sum["churn.rate"] += p.Churn.Rate.Freq
			case p.Idle != nil:
				sum["hold"] += p.Idle.Connections
			case p.Slow != nil:
				sum["slow"] += p.Slow.Connections
			case p.Abandon != nil:
				sum["gone"] += p.Abandon.Connections
			case p.Request != nil:
				sum["setup"]++
			}
		}
	}
	want := map[string]int{"warm.rate": 100, "warm.connections": 10, "few.rate": 2, "few.connections": 2 * 1,
		"up.to": 50, "up.from": 0, "burst.count": 31, "churn.rate": 11, "hold": 25, "slow": 5, "gone": 4, "setup": 1}
	// few: 2/s over 3 shards: shards 2 and 3 send 1/s, shard 1 sits it out
	// (rate 0 would mean as fast as possible); each keeps a share of the
	// 64 default connections.
	want["few.connections"] = Segment{2, 3}.Part(DefaultConnections) + Segment{3, 3}.Part(DefaultConnections)
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("%s: shards sum to %d, want %d", k, sum[k], v)
		}
	}
	if quiet["few"] != 1 || quiet["setup"] != n-1 {
		t.Errorf("sat out: %v; want few once (its 2/s over 3 shards) and setup on shards 2 and 3", quiet)
	}
}
