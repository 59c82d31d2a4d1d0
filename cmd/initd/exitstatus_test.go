package main

// Exit status: initd exits with what the child's exit means to the user
// (README "Exit status"): the child's own status, 128+n for a signal, 126
// and 127 for a command that cannot run, 0 for the informational flags, and
// a stopped child is not an exited one.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	// exit exits with the status its argument gives.
	registerHelper("exit", func(args []string) {
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	})
}

func TestExitStatus(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want int
	}{
		{helper("exit", "0"), 0},
		{helper("exit", "1"), 1},
		{helper("exit", "42"), 42},
		{helper("exit", "255"), 255},
		{[]string{"/bin/sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"/bin/sh", "-c", "kill -KILL $$"}, 128 + 9},
		{[]string{"/bin/sh", "-c", "kill -SEGV $$"}, 128 + 11},
	} {
		t.Run(strings.Join(tt.argv[1:], " "), func(t *testing.T) {
			if got, p := run(t, pid1, append([]string{"--"}, tt.argv...)...); got != tt.want {
				t.Errorf("exit status %d, want %d; stderr: %s", got, tt.want, p.Stderr())
			}
		})
	}
}

func TestRemapExit(t *testing.T) {
	if got, _ := run(t, pid1, "-e", "143", "--", "/bin/sh", "-c", "kill -TERM $$"); got != 0 {
		t.Errorf("-e 143: status %d, want 0", got)
	}
	if got, _ := run(t, pid1, append([]string{"-e", "42:7", "-e", "1:2", "--"}, helper("exit", "42")...)...); got != 7 {
		t.Errorf("-e 42:7: status %d, want 7", got)
	}
}

func TestExecFailure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noexec := write("noexec.sh", "#!/bin/sh\necho hi\n", 0o644)
	noshebang := write("noshebang", "echo hi\n", 0o755)
	crlf := write("crlf.sh", "#!/bin/sh\r\necho hi\r\n", 0o755)
	nointerp := write("nointerp.sh", "#!/no/such/interpreter\necho hi\n", 0o755)
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		code int
		msg  string
	}{
		{"missing file", []string{"/no/such/command"}, nil, 127, "/no/such/command: not found"},
		{"missing in PATH", []string{"no-such-command-initd"}, nil, 127, "no-such-command-initd: not found"},
		{"empty PATH", []string{"sh"}, []string{"PATH="}, 127, "PATH is empty"},
		{"directory", []string{dir}, nil, 126, "is a directory"},
		{"not executable", []string{noexec}, nil, 126, "permission denied"},
		{"not executable in PATH", []string{"noexec.sh"}, []string{"PATH=" + dir}, 126, "permission denied"},
		{"no #! line", []string{noshebang}, nil, 126, "no #! line"},
		{"CRLF #! line", []string{crlf}, nil, 126, "CRLF"},
		{"missing interpreter", []string{nointerp}, nil, 126, `bad interpreter "/no/such/interpreter"`},
		{"name too long", []string{"/" + strings.Repeat("x", 5000)}, nil, 127, "file name too long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, p := run(t, runOpt{pid1: true, env: tt.env}, append([]string{"--"}, tt.args...)...)
			if got != tt.code {
				t.Errorf("status %d, want %d", got, tt.code)
			}
			if s := p.Stderr(); !strings.Contains(s, tt.msg) || !strings.HasPrefix(s, "initd: ") {
				t.Errorf("stderr %q, want it to contain %q", s, tt.msg)
			}
		})
	}
}

func TestInfoActions(t *testing.T) {
	for _, tt := range []struct{ flag, want string }{
		{"--version", "initd version "},
		{"-V", " - git."},
		{"--help", "usage: initd"},
		{"-l", "Permission is hereby granted"},
	} {
		got, p := run(t, runOpt{}, tt.flag)
		if got != 0 || !p.has(tt.want) {
			t.Errorf("initd %s: status %d, stdout %q", tt.flag, got, p.Out())
		}
	}
}

// A child that stops itself is neither reported as exited nor makes initd
// exit; continued, it finishes with its own status.
func TestChildStopsItself(t *testing.T) {
	for _, sig := range []string{"STOP", "TSTP"} {
		t.Run(sig, func(t *testing.T) {
			p := start(t, pid1, "--", "/bin/sh", "-c", `echo ready; kill -`+sig+` $$; echo continued; exit 3`)
			p.expect("ready")
			child := childOf(t, p.Pid())
			waitState(t, child, 'T')
			// The test is that nothing happens: give a wrong exit time
			// to show.
			time.Sleep(300 * time.Millisecond)
			if p.exited() {
				t.Fatalf("initd exited while the child was stopped: %v", p.cmd.ProcessState)
			}
			if st, _ := stat(p.Pid()); st.state == 'T' {
				t.Error("initd itself is stopped")
			}
			p.signal(syscall.SIGCONT) // forwarded to the child's group
			p.expect("continued")
			if got := p.wait(20 * time.Second); got != 3 {
				t.Errorf("status %d, want 3", got)
			}
		})
	}
}

// A stopped child that is killed gives 128+9, whether the SIGKILL comes
// from outside or from --kill-after (a forwarded SIGTERM stays pending in
// a stopped process).
func TestStoppedChildKilled(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `echo ready; kill -STOP $$; exit 0`)
	p.expect("ready")
	child := childOf(t, p.Pid())
	waitState(t, child, 'T')
	syscall.Kill(child, syscall.SIGKILL)
	if got := p.wait(20 * time.Second); got != 137 {
		t.Errorf("killed from outside: status %d, want 137", got)
	}

	p = start(t, pid1, "--kill-after", "300ms", "--", "/bin/sh", "-c", `echo ready; kill -STOP $$; exit 0`)
	p.expect("ready")
	waitState(t, childOf(t, p.Pid()), 'T')
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 137 {
		t.Errorf("--kill-after on a stopped child: status %d, want 137", got)
	}
}
