// Package cli holds the end-to-end tests of the soak command line: runs,
// aborts, load guards, isolation, signals, lost data, shards merged, the
// README tour. Each runs the soak binary (testbin) on a scenario to its end,
// mostly against the reference SUT, and judges the exit code, the output
// and the run directory. They take a minute or more together, so they live
// apart from cmd/soak, whose unit tests stay fast.
package cli
