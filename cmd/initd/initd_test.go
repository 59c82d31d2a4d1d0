package main

import (
	"os"
	"os/exec"
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

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--"},
		{"--bogus", "true"},
		{"-e", "256", "true"},
		{"--rewrite", "TERM", "true"},
		{"--grace", "5parsecs", "true"},
		{"", "x"},
	} {
		got, p := run(t, runOpt{}, args...)
		if got != 2 {
			t.Errorf("initd %q: status %d, want 2", args, got)
		}
		if s := p.Stderr(); !strings.Contains(s, "initd: ") || !strings.Contains(s, "usage") {
			t.Errorf("initd %q: stderr %q lacks the error and usage", args, s)
		}
	}
	// A bad variable is a usage error too.
	got, p := run(t, runOpt{env: []string{"INITD_GRACE=soon"}}, "true")
	if got != 2 || !strings.Contains(p.Stderr(), "INITD_GRACE") {
		t.Errorf("INITD_GRACE=soon: status %d, stderr %q", got, p.Stderr())
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

// Every catchable signal class reaches the child and, by default, the rest
// of its process group.
func TestForwardToGroup(t *testing.T) {
	p := start(t, pid1, append([]string{"--"}, helper("record", "child", "TERM", "grandchild")...)...)
	p.saw("child ready")
	p.saw("grandchild ready")
	for _, sig := range []syscall.Signal{
		syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGWINCH, syscall.SIGCONT, 34 + 3, 64, syscall.SIGSEGV, syscall.SIGPIPE, syscall.SIGTERM,
	} {
		p.signal(sig)
		name := sigName(sig)
		p.expect("child got " + name)
		if !waitFor(func() bool { return p.has("grandchild got " + name) }) {
			t.Errorf("grandchild did not get %s", name)
		}
	}
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
}

func TestSingleChild(t *testing.T) {
	p := start(t, pid1, append([]string{"-c", "--grace", "100ms", "--"}, helper("record", "child", "TERM", "grandchild")...)...)
	p.saw("grandchild ready")
	p.saw("child ready")
	p.signal(syscall.SIGUSR1)
	p.expect("child got SIGUSR1")
	p.signal(syscall.SIGTERM)
	p.expect("child got SIGTERM")
	p.wait(20 * time.Second)
	if p.has("grandchild got SIGUSR1") {
		t.Error("with --single-child the grandchild got SIGUSR1")
	}
	// The grandchild was left over: initd sent it SIGTERM itself, since
	// the forwarded one reached the child alone.
	if !p.has("grandchild got SIGTERM") {
		t.Error("the leftover grandchild got no SIGTERM")
	}
}

func TestRewrite(t *testing.T) {
	p := start(t, pid1, append([]string{"-r", "TERM:QUIT", "--rewrite", "USR1:0", "--"}, helper("record", "child", "QUIT")...)...)
	p.expect("child ready")
	p.signal(syscall.SIGUSR1)
	p.signal(syscall.SIGUSR2)
	p.expect("child got SIGUSR2")
	p.signal(syscall.SIGTERM)
	p.expect("child got SIGQUIT")
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d", got)
	}
	if p.has("SIGUSR1") || p.has("got SIGTERM") {
		t.Errorf("rewritten signals leaked: %q", p.Out())
	}
}

// SIGTTIN and SIGTTOU are dropped, and never stop initd.
func TestTerminalStopSignals(t *testing.T) {
	p := start(t, pid1, append([]string{"--"}, helper("record", "child", "TERM")...)...)
	p.expect("child ready")
	p.signal(syscall.SIGTTIN)
	p.signal(syscall.SIGTTOU)
	p.signal(syscall.SIGUSR1)
	p.expect("child got SIGUSR1")
	if st, _ := stat(p.Pid()); st.state == 'T' {
		t.Error("initd is stopped")
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if p.has("SIGTTIN") || p.has("SIGTTOU") {
		t.Errorf("forwarded a terminal stop signal: %q", p.Out())
	}
}

// SIGURG is forwarded only when initd's runtime never sends it to itself.
func TestSIGURG(t *testing.T) {
	// The helper is a Go program too: switch its own preemption off so
	// that every SIGURG it records came from initd.
	p := start(t, runOpt{pid1: true, env: []string{"GODEBUG=asyncpreemptoff=1"}},
		append([]string{"--"}, helper("record", "child", "TERM")...)...)
	p.expect("child ready")
	// Keep initd busy so that a runtime that preempted would have to.
	for i := 0; i < 2000; i++ {
		p.signal(syscall.SIGWINCH)
	}
	p.signal(syscall.SIGURG)
	p.expect("child got SIGURG")
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	n := 0
	for _, l := range p.Out() {
		if strings.Contains(l, "SIGURG") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("child got %d SIGURGs, want the 1 that was sent", n)
	}

	// GODEBUG in the environment switches preemption back on: then no
	// SIGURG can be trusted and none is forwarded.
	p = start(t, runOpt{pid1: true, env: []string{"GODEBUG=asyncpreemptoff=0"}},
		"--", "/bin/sh", "-c", `trap 'echo got URG' URG; trap 'echo got USR1' USR1; trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	p.expect("ready")
	p.signal(syscall.SIGURG)
	p.signal(syscall.SIGUSR1)
	p.expect("got USR1")
	time.Sleep(200 * time.Millisecond)
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if p.has("got URG") {
		t.Error("SIGURG forwarded although GODEBUG switched preemption on")
	}
}

// A SIGPIPE sent from outside is forwarded; the one raised by initd's own
// write to a closed stderr is neither forwarded nor fatal.
func TestSIGPIPE(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	p := start(t, runOpt{pid1: true, setup: func(c *exec.Cmd) { c.Stderr = w }},
		append([]string{"-vv", "--"}, helper("record", "child", "TERM")...)...)
	w.Close()
	p.expect("child ready")
	p.signal(syscall.SIGUSR1) // -vv logs the forward: initd writes, gets EPIPE
	p.expect("child got SIGUSR1")
	p.signal(syscall.SIGUSR2)
	p.expect("child got SIGUSR2")
	if p.has("SIGPIPE") {
		t.Errorf("initd forwarded its own SIGPIPE: %q", p.Out())
	}
	// initd is alive and still forwards, including an outside SIGPIPE.
	// Its own SIGPIPEs are all consumed by now: each log line raised one
	// and each was dropped in order.
	time.Sleep(100 * time.Millisecond)
	p.signal(syscall.SIGPIPE)
	p.expect("child got SIGPIPE")
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d, want 0", got)
	}
}

// The shell form: sh -c does not forward SIGTERM, but initd signals the
// whole group and waits for the trap to finish its cleanup.
func TestShellFormTrap(t *testing.T) {
	script := filepath.Join(t.TempDir(), "trap.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
trap 'echo "Trapped: TERM"; sleep 1; echo "cleanup done"; exit 0' TERM
echo "started $$"
while :; do sleep 1 & wait $!; done
`), 0o755)
	p := start(t, pid1, "--", "/bin/sh", "-c", script)
	p.expect("started")
	begin := time.Now()
	p.signal(syscall.SIGTERM)
	p.expect("Trapped: TERM")
	got := p.wait(8 * time.Second)
	if !p.has("cleanup done") {
		t.Errorf("trap cleanup was cut off: %q", p.Out())
	}
	// sh itself dies of the SIGTERM it does not trap.
	if got != 143 {
		t.Errorf("status %d, want 143 (sh killed by SIGTERM)", got)
	}
	t.Logf("stopped in %v", time.Since(begin))
}
