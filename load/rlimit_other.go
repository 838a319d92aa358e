//go:build !unix

package load

import "math"

// raiseNoFile does nothing where there is no RLIMIT_NOFILE.
func raiseNoFile() (soft, hard uint64, err error) { return math.MaxInt32, math.MaxInt32, nil }
