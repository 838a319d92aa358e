package sut

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogCapKeepsHeadAndTail writes through a 10-byte cap (4 of tail) in
// pieces of every size.
func TestLogCapKeepsHeadAndTail(t *testing.T) {
	t.Parallel()
	const in = "abcdefghijklmnopqrstuvwxyz"
	for _, piece := range []int{1, 3, 7, 26} {
		t.Run(fmt.Sprint(piece), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			c := newLogCap(f, 10, 4)
			for s := in; s != ""; {
				k := min(piece, len(s))
				if n, err := c.Write([]byte(s[:k])); n != k || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				s = s[k:]
			}
			if got := c.lastLines(1); got != "wxyz" {
				t.Errorf("lastLines while open = %q; want wxyz", got)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if got := c.lastLines(1); got != "wxyz" {
				t.Errorf("lastLines after Close = %q; want wxyz", got)
			}
			b, _ := os.ReadFile(path)
			want := "abcdef\n[soak: log limit reached: 16 bytes dropped here; kept the first 6 and the last 4 bytes]\nwxyz"
			if string(b) != want {
				t.Errorf("log = %q\nwant  %q", b, want)
			}
		})
	}
}

// TestNodeLogIsCapped: a node writing without end filled the disk (2 GB in
// 11 s). Here 5 MB through a 1 MiB cap.
func TestNodeLogIsCapped(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	path := filepath.Join(t.TempDir(), "n.log")
	p, err := Start(Spec{Name: "n", LogPath: path, LogLimit: limit,
		Argv: []string{"sh", "-c", "echo FIRST; head -c 5000000 /dev/zero; echo; echo LAST; exec sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return p.LogTail(1) == "LAST" })
	if st, err := os.Stat(path); err != nil || st.Size() > limit {
		t.Errorf("log is %d bytes while the node runs, cap %d (%v)", st.Size(), limit, err)
	}
	_ = p.Stop(time.Second)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	note := fmt.Sprintf("[soak: log limit reached: %d bytes dropped here; kept the first %d and the last %d bytes]", 5000012-limit, limit/2, limit/2)
	if len(b) > limit+len(note)+2 {
		t.Errorf("log is %d bytes, cap %d", len(b), limit)
	}
	if !strings.HasPrefix(string(b), "FIRST\n") || !strings.HasSuffix(string(b), "\nLAST\n") {
		t.Errorf("log lost its head or its tail: %q ... %q", b[:min(len(b), 20)], b[max(0, len(b)-20):])
	}
	if !strings.Contains(string(b), note) {
		t.Errorf("log does not say what was dropped: want %q", note)
	}
}

// TestLogTailSanitized: a node's log tail printed on a terminal carried its
// escape sequences (clear screen, window title, colours).
func TestLogTailSanitized(t *testing.T) {
	t.Parallel()
	p, err := Start(Spec{Name: "n", LogPath: filepath.Join(t.TempDir(), "n.log"),
		Argv: []string{"printf", `\033[2J\033]0;pwned\007hello \033[31mred\033[0m\r\001\tok\n`}})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	if got, want := p.LogTail(5), "hello red\uFFFD\uFFFD\tok"; got != want {
		t.Errorf("LogTail = %q, want %q", got, want)
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain\ttext\nnext", "plain\ttext\nnext"},
		{"\x1b[1;31mred\x1b[0m", "red"},
		{"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"a\x1b[", "a"},
		{"a\x1bcb", "ab"},
		{"bell\a nul\x00 del\x7f c1\u009b", "bell\uFFFD nul\uFFFD del\uFFFD c1\uFFFD"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"\x1b[31\nnext", "\nnext"},
	} {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLogTailReadsItsOwnFile: the log's last lines were read by path again,
// so a node could replace its log with a symlink to any file and have
// soak copy that file's end into meta.json (a death cause) and the
// terminal. They are read through the log's own descriptor.
func TestLogTailReadsItsOwnFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, secret := filepath.Join(dir, "n.log"), filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("SECRET-LINE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Start(Spec{Name: "n", LogPath: path, Argv: []string{"sh", "-c", "echo NODE-OUT; exec sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	waitFor(t, func() bool { b, _ := os.ReadFile(path); return strings.Contains(string(b), "NODE-OUT") })
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, path); err != nil {
		t.Fatal(err)
	}
	if got := p.LogTail(5); got != "NODE-OUT" {
		t.Errorf("LogTail = %q, want the node's own output", got)
	}
	_ = p.Stop(time.Second)
	<-p.Exited()
	if got := p.LogTail(5); got != "NODE-OUT" {
		t.Errorf("LogTail after exit = %q, want the node's own output", got)
	}
}
