package load

import "strings"

// Kinds of failed request, the keys of record.PhaseResult.Errors.
const (
	ErrRefused     = "refused"
	ErrReset       = "reset"
	ErrTimeout     = "timeout"
	ErrEOF         = "eof"
	ErrBadResponse = "bad-response"
	ErrOther       = "other"
)

// errKind classifies a failed request's error text. It works on text
// because vegeta keeps only the error's string in its results.
func errKind(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "connection refused"):
		return ErrRefused
	case strings.Contains(m, "connection reset"), strings.Contains(m, "broken pipe"):
		return ErrReset
	case strings.Contains(m, "timeout"), strings.Contains(m, "deadline exceeded"), strings.Contains(m, "i/o timeout"):
		return ErrTimeout
	case strings.Contains(m, "eof"), strings.Contains(m, "server closed"):
		return ErrEOF
	case strings.Contains(m, "malformed"), strings.Contains(m, "bad response"), strings.Contains(m, "unexpected"),
		strings.Contains(m, "http response to"), strings.Contains(m, "invalid"), strings.Contains(m, "frame"):
		return ErrBadResponse
	}
	return ErrOther
}
