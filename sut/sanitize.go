package sut

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes SUT output safe to print on a terminal: escape sequences
// (CSI "ESC [ ... final", OSC "ESC ] ... BEL or ESC \", two-byte "ESC x")
// are removed, and every other control character but newline and tab,
// C1 controls and invalid UTF-8 become U+FFFD. A node's log could
// otherwise move the cursor, clear the screen, retitle the window or hide
// text in the lines soak prints when the node dies.
func Sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0x1b {
			i += escapeLen(s[i:])
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeLen is the length of the escape sequence at the start of s (which
// begins with ESC); an unterminated one runs to the end of s.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[': // CSI: parameters and intermediates, then a final byte 0x40-0x7e
		for i := 2; i < len(s); i++ {
			switch c := s[i]; {
			case c >= 0x40 && c <= 0x7e:
				return i + 1
			case c < 0x20 || c > 0x7e: // not part of a CSI: it ends here
				return i
			}
		}
		return len(s)
	case ']', 'P', '_', '^', 'X': // OSC, DCS, APC, PM, SOS: up to BEL or ESC \
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			if s[i] == '\n' {
				return i
			}
		}
		return len(s)
	}
	return 2
}
