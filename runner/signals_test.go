package runner

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// The first signal cancels the run, the second skips the report; a third
// changes nothing, and stop ends the watcher (goleak checks it).
func TestSignalStateMachine(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal)
	ctx, skip, stop := handleSignals(context.Background(), sigs, io.Discard)
	defer stop()
	select {
	case <-ctx.Done():
		t.Fatal("cancelled before any signal")
	case <-skip:
		t.Fatal("report skipped before any signal")
	default:
	}
	sigs <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("first signal did not cancel the run")
	}
	select {
	case <-skip:
		t.Fatal("the first signal skipped the report")
	default:
	}
	sigs <- syscall.SIGTERM
	select {
	case <-skip:
	case <-time.After(10 * time.Second):
		t.Fatal("second signal did not skip the report")
	}
	sigs <- os.Interrupt // a third: no panic on a closed channel
}
