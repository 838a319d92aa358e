// Command footprint is the harness-footprint part of `make bench`: it runs
// soak's runner in this process (what `soak run` does, minus the CLI) on
// footprint.yaml, in a fresh network namespace so its 2 x N sockets do not
// slow the other benchmarks' socket dumps, and samples its own RSS,
// goroutines and run-directory size during the idle hold. It prints one
// line of key=value results for bench/table.
//
//	go build -o bench/out/bin/footprint ./bench/footprint
//	bench/out/bin/footprint -soak bin/soak -duration 1m -out bench/out/footprint
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/soak-dev/soak/isolate"
)

//go:embed footprint.yaml
var scenarioText string

type options struct {
	soak     string        // the soak binary the nodes run (`soak testsut`)
	duration time.Duration // length of the idle hold
	conns    int           // idle client connections held
	out      string        // parent of the run directory, emptied first
	every    time.Duration // self-sampling interval
}

func main() {
	var o options
	flag.StringVar(&o.soak, "soak", "bin/soak", "soak binary for the SUT nodes")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "length of the idle hold")
	flag.IntVar(&o.conns, "conns", 10000, "idle client connections to hold")
	flag.StringVar(&o.out, "out", "bench/out/footprint", "directory for the run (emptied first)")
	flag.DurationVar(&o.every, "every", 5*time.Second, "how often the harness samples itself")
	flag.Parse()
	if !isolate.Inside() {
		code, err := isolate.Reexec(os.Args[1:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "footprint:", err)
			os.Exit(3)
		}
		os.Exit(code)
	}
	if err := isolate.SetUpLoopback(nil); err != nil {
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(3)
	}
	// Idle timeouts outlast the hold, so the SUT keeps every connection.
	idle := (2*o.duration + 10*time.Minute).String()
	text := strings.NewReplacer("@CONNS@", strconv.Itoa(o.conns), "@DURATION@", o.duration.String(), "@IDLE@", idle).Replace(scenarioText)
	res, err := run(o, []byte(text))
	if err != nil {
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(3)
	}
	fmt.Println(res)
}
