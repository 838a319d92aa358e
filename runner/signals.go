package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// NotifySignals ties a run to SIGINT and SIGTERM, as soak run documents:
// the first cancels ctx (the load stops at once, the data is kept and the
// report still written: exit 130), the second closes skipReport (Options.
// SkipReport: the report is skipped, or abandoned mid-build). Each is said
// on log. stop releases the signals and ends the watcher.
func NotifySignals(parent context.Context, log io.Writer) (ctx context.Context, skipReport <-chan struct{}, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, skip, done := handleSignals(parent, sigs, log)
	return ctx, skip, func() {
		signal.Stop(sigs)
		done()
	}
}

// handleSignals is NotifySignals' state machine on a channel tests feed.
func handleSignals(parent context.Context, sigs <-chan os.Signal, log io.Writer) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(parent)
	skip := make(chan struct{})
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		n := 0
		for {
			select {
			case <-quit:
				return
			case <-sigs:
				n++
				switch n {
				case 1:
					fmt.Fprintln(log, "\nsoak: interrupted: stopping load, keeping data, writing the report (Ctrl-C again to skip the report)")
					cancel()
				case 2:
					fmt.Fprintln(log, "\nsoak: interrupted again: skipping the report; the data is kept")
					close(skip)
				}
			}
		}
	}()
	return ctx, skip, func() {
		close(quit)
		<-finished
		cancel()
	}
}
