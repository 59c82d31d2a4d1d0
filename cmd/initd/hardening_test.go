package main

// Hardening: bad input through every door, commands that cannot run,
// children that stop themselves, broken standard descriptors and odd
// /dev/null set-ups. Each test asserts what a user sees: the status, the
// message, which process got which signal.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every bad value through every flag and every environment variable is a
// usage error (status 2) whose message names the option or variable, and
// never a hang.
func TestHardeningBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-e", "-1", "true"}, `exit status "-1"`},
		{[]string{"-e", "256", "true"}, `exit status "256"`},
		{[]string{"-e", "1:256", "true"}, `exit status "256"`},
		{[]string{"--remap-exit=x", "true"}, `--remap-exit`},
		{[]string{"--rewrite", "NOPE:1", "true"}, `--rewrite`},
		{[]string{"--rewrite", "15:65", "true"}, `--rewrite`},
		{[]string{"-r", "KILL:TERM", "true"}, `--rewrite`},
		{[]string{"--grace", "-1s", "true"}, `negative`},
		{[]string{"--grace=1e9h", "true"}, `--grace`},
		{[]string{"-k", "soon", "true"}, `--kill-after`},
		{[]string{"-p", "SIGNOPE", "true"}, `--pdeath`},
		{[]string{"-p", "0", "true"}, `--pdeath`},
		{[]string{"-x", "true"}, `unknown option -x`},
		{[]string{"-vx", "true"}, `unknown option -x`},
		{[]string{"--nope", "true"}, `unknown option --nope`},
		{[]string{"--version=1"}, `takes no value`},
		{[]string{"-t"}, `needs a value`},
		{[]string{"--rewrite"}, `needs a value`},
		{[]string{"-v", "--"}, `no command`},
		{[]string{"--", ""}, `command name is empty`},
		{[]string{"--pause", "true"}, `--pause runs no command`},
	} {
		got, p := run(t, runOpt{}, tt.args...)
		s := p.Stderr()
		if got != 2 || !strings.HasPrefix(s, "initd: ") || !strings.Contains(s, tt.msg) || !strings.Contains(s, "usage") {
			t.Errorf("initd %q: status %d, stderr %q; want 2 and a message with %q", tt.args, got, s, tt.msg)
		}
	}
}

func TestHardeningBadEnvironment(t *testing.T) {
	for _, kv := range []string{
		"INITD_SINGLE_CHILD=maybe",
		"INITD_REWRITE=TERM",
		"INITD_REWRITE=NOPE:1",
		"INITD_REWRITE=15:65",
		"INITD_REWRITE=TERM:QUIT,,USR1",
		"INITD_REMAP_EXIT=256",
		"INITD_REMAP_EXIT=-1",
		"INITD_REMAP_EXIT=1:x",
		"INITD_GRACE=-1s",
		"INITD_GRACE=5parsecs",
		"INITD_GRACE=99999999999999999999",
		"INITD_KILL_AFTER=-1",
		"INITD_KILL_AFTER=later",
		"INITD_VERBOSITY=11",
		"INITD_VERBOSITY=loud",
		"TINI_VERBOSITY=x",
		"DUMB_INIT_SETSID=maybe",
	} {
		name := kv[:strings.IndexByte(kv, '=')]
		got, p := run(t, runOpt{env: []string{kv}}, "true")
		s := p.Stderr()
		if got != 2 || !strings.HasPrefix(s, "initd: "+name+"=") || !strings.Contains(s, "usage") {
			t.Errorf("%s: status %d, stderr %q; want 2 and a message naming %s", kv, got, s, name)
		}
	}
	// A flag does not rescue a bad variable: the variable is still read
	// and reported, so a typo in an image is never silently ignored.
	if got, p := run(t, runOpt{env: []string{"INITD_GRACE=soon"}}, "--grace", "1s", "true"); got != 2 {
		t.Errorf("INITD_GRACE=soon with --grace 1s: status %d, stderr %q", got, p.Stderr())
	}
	// Good values work, and an empty variable is the same as an unset one.
	for _, kv := range []string{"INITD_GRACE=", "INITD_REWRITE= TERM:QUIT , USR1:0 ", "INITD_REMAP_EXIT=3:0", "INITD_VERBOSITY=0", "DUMB_INIT_SETSID=0"} {
		if got, p := run(t, runOpt{env: []string{kv}}, "--", "/bin/sh", "-c", "exit 3"); got != 3 && !(kv == "INITD_REMAP_EXIT=3:0" && got == 0) {
			t.Errorf("%s: status %d, stderr %q", kv, got, p.Stderr())
		}
	}
}

// argv strings totalling size bytes, none longer than the kernel's
// per-string limit (MAX_ARG_STRLEN, 128 KiB).
func bigArgs(size int) []string {
	var out []string
	for size > 0 {
		n := min(size, 100000)
		out = append(out, strings.Repeat("a", n-1))
		size -= n
	}
	return out
}

// Arguments near ARG_MAX: the largest argument list that the kernel still
// lets initd start with reaches the child intact, and one that fits initd
// but not the child (a #! script adds its long interpreter path) gives 126
// "argument list too long" naming the command.
func TestHardeningArgMax(t *testing.T) {
	dir := t.TempDir()
	// A 200-byte interpreter path, a symbolic link to /bin/sh.
	long := filepath.Join(dir, strings.Repeat("i", 200-len(dir)-4))
	if err := os.Symlink("/bin/sh", long+".sh"); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "s")
	os.WriteFile(script, []byte("#!"+long+".sh\necho \"args $#\"\n"), 0o755)
	env := []string{"PATH=/usr/bin:/bin"}
	probe := func(size int) (started bool, code int, out, stderr string) {
		cmd := exec.Command(initdBin, append([]string{"--", script}, bigArgs(size)...)...)
		cmd.Env = env
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		if cmd.ProcessState == nil {
			return false, 0, "", fmt.Sprint(err)
		}
		return true, cmd.ProcessState.ExitCode(), so.String(), se.String()
	}
	// Binary search for the largest size initd itself can be started with.
	lo, hi := 1<<20, 8<<20
	if ok, _, _, _ := probe(lo); !ok {
		t.Fatalf("initd cannot start with 1 MiB of arguments")
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if ok, _, _, _ := probe(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	_, code, _, stderr := probe(lo)
	t.Logf("largest argument list initd starts with: %d bytes; the child: status %d, %q", lo, code, stderr)
	if code != 126 || !strings.Contains(stderr, "initd: "+script+": cannot execute: argument list too long") {
		t.Errorf("at the limit: status %d, stderr %q; want 126 and argument list too long", code, stderr)
	}
	// 1 KiB below the limit everything still reaches the child.
	size := lo - 1024
	_, code, out, stderr := probe(size)
	if want := fmt.Sprintf("args %d", len(bigArgs(size))); code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("1 KiB below the limit: status %d, stdout %q (want %q), stderr %q", code, out, want, stderr)
	}
}

// Names at the limits of PATH_MAX and NAME_MAX, and PATH oddities.
func TestHardeningNamesAndPath(t *testing.T) {
	dir := t.TempDir()
	// A script whose absolute path is just under PATH_MAX (4096) runs.
	deep := dir
	for len(deep) < 3800 {
		deep = filepath.Join(deep, strings.Repeat("d", 200))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	tail := 4000 - len(deep)
	script := filepath.Join(deep, strings.Repeat("s", tail))
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, p := run(t, runOpt{}, "--", script); got != 5 {
		t.Errorf("a %d-byte path: status %d, stderr %q", len(script), got, p.Stderr())
	}
	// Past PATH_MAX: 127, file name too long (a shortened name).
	if got, p := run(t, runOpt{}, "--", script+"/"+strings.Repeat("x", 200)); got != 127 || !strings.Contains(p.Stderr(), "file name too long") {
		t.Errorf("past PATH_MAX: status %d, stderr %q", got, p.Stderr())
	}
	// A component longer than NAME_MAX (255), looked up in PATH.
	name := strings.Repeat("n", 300)
	if got, p := run(t, runOpt{}, "--", name); got != 127 || !strings.Contains(p.Stderr(), name+": not found in PATH") {
		t.Errorf("a 300-byte name in PATH: status %d, stderr %q", got, p.Stderr())
	}
	local := filepath.Join(dir, "local-cmd")
	os.WriteFile(local, []byte("#!/bin/sh\nexit 6\n"), 0o755)
	for _, tt := range []struct {
		env  []string
		cmd  string
		code int
		msg  string
	}{
		// PATH unset: the default container PATH is searched.
		{[]string{"PATH"}, "sh", 3, ""},
		// An empty PATH entry is the working directory, as in execvp.
		{[]string{"PATH=:/nonexistent"}, "local-cmd", 6, ""},
		{[]string{"PATH=/nonexistent:"}, "local-cmd", 6, ""},
		// Only missing directories.
		{[]string{"PATH=/nonexistent:/also/not"}, "sh", 127, "sh: not found in PATH"},
		// A PATH entry that is a file, not a directory.
		{[]string{"PATH=" + local}, "sh", 127, "sh: not found in PATH"},
	} {
		o := runOpt{dir: dir}
		var args []string
		if tt.env[0] == "PATH" {
			o.setup = func(c *exec.Cmd) {
				var env []string
				for _, kv := range c.Env {
					if !strings.HasPrefix(kv, "PATH=") {
						env = append(env, kv)
					}
				}
				c.Env = env
			}
		} else {
			o.env = tt.env
		}
		args = []string{"--", tt.cmd}
		if tt.cmd == "sh" {
			args = append(args, "-c", "exit 3")
		}
		got, p := run(t, o, args...)
		if got != tt.code || !strings.Contains(p.Stderr(), tt.msg) {
			t.Errorf("%v %s: status %d, stderr %q; want %d %q", tt.env, tt.cmd, got, p.Stderr(), tt.code, tt.msg)
		}
	}
}

// A child that stops itself is neither reported as exited nor makes initd
// exit; continued, it finishes with its own status.
func TestHardeningChildStopsItself(t *testing.T) {
	for _, sig := range []string{"STOP", "TSTP"} {
		t.Run(sig, func(t *testing.T) {
			p := start(t, pid1, "--", "/bin/sh", "-c", `echo ready; kill -`+sig+` $$; echo continued; exit 3`)
			p.expect("ready")
			child := childOf(t, p.Pid())
			waitState(t, child, 'T')
			time.Sleep(300 * time.Millisecond)
			select {
			case <-p.done:
				t.Fatalf("initd exited while the child was stopped: %v", p.cmd.ProcessState)
			default:
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

// SIGTSTP sent to initd stops the child's group but never initd; SIGCONT
// resumes it.
func TestHardeningTSTPFromOutside(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `trap 'exit 8' TERM; echo ready; while :; do sleep 0.05; done`)
	p.expect("ready")
	// The shell or its sleep (a shell caught in vfork waits, in state D,
	// for its stopped child) is stopped.
	stopped := func() bool {
		for _, c := range descendants(p.Pid()) {
			if st, ok := stat(c); ok && st.state == 'T' {
				return true
			}
		}
		return false
	}
	p.signal(syscall.SIGTSTP)
	if !waitFor(stopped) {
		t.Fatal("SIGTSTP did not stop the child's group")
	}
	if st, _ := stat(p.Pid()); st.state == 'T' {
		t.Error("initd stopped on SIGTSTP")
	}
	p.signal(syscall.SIGCONT)
	if !waitFor(func() bool { return !stopped() }) {
		t.Error("child not continued by SIGCONT")
	}
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 8 {
		t.Errorf("status %d, want 8", got)
	}
}

// A stopped child that is killed gives 128+9, whether the SIGKILL comes
// from outside or from --kill-after (a forwarded SIGTERM stays pending in
// a stopped process).
func TestHardeningStoppedChildKilled(t *testing.T) {
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

// stderr is a pipe whose reader is gone: whatever initd has to say
// (usage error, exec failure, verbose logs of reaps and forwards), it
// still exits with the right status and is never killed by SIGPIPE.
func TestHardeningStderrReaderGone(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"--bogus", "x"}, 2},
		{[]string{"--", "/no/such/command"}, 127},
		{[]string{"-vvv", "-w", "--", "/bin/sh", "-c", "(true &); sleep 0.2; exit 4"}, 4},
		// The child exits 0 on the SIGUSR1 whose forward -vvv logs.
		{append([]string{"-vvv", "--"}, helper("record", "child", "USR1")...), 0},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		p := start(t, runOpt{pid1: true, setup: func(c *exec.Cmd) { c.Stderr = w }}, tt.args...)
		w.Close()
		if tt.want == 0 {
			p.expect("child ready")
			p.signal(syscall.SIGUSR1)
		}
		got := p.wait(20 * time.Second)
		if ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
			t.Errorf("initd %q killed by %v", tt.args, ws.Signal())
		} else if got != tt.want {
			t.Errorf("initd %q: status %d, want %d", tt.args, got, tt.want)
		}
	}
}

// /dev oddities, in a mount namespace of the test's own: with stdio open,
// initd needs no /dev/null at all, and a read-only or a character device
// other than the real one there changes nothing. With a standard
// descriptor closed AND no /dev/null, the Go runtime aborts before
// initd's main can run (runtime.checkfds, Go 1.22+): "fatal error: cannot
// open standard fds", status 2. That is documented in docs/hardening.md.
func TestHardeningDevNullOddities(t *testing.T) {
	requireNamespaces(t)
	for _, tt := range []struct {
		name, setup, redir string
		want               int
		stderr             string
	}{
		{"no /dev at all", "mount -t tmpfs tmpfs /dev", "", 3, ""},
		{"read-only /dev/null", "mount -o remount,bind,ro /dev/null /dev/null 2>/dev/null || mount --bind -o ro /dev/null /dev/null", "<&-", 3, ""},
		{"/dev/null is /dev/zero", "mount --bind /dev/zero /dev/null", "<&-", 3, ""},
		{"closed stdin, no /dev/null", "mount -t tmpfs tmpfs /dev", "<&-", 2, "cannot open standard fds"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			self, _ := os.Executable()
			script := tt.setup + ` && exec "$@" ` + tt.redir
			p := start(t, runOpt{pid1: true, setup: func(c *exec.Cmd) {
				c.Args = []string{self, "/bin/sh", "-c", script, "sh", initdBin, "--", "/bin/sh", "-c", "exit 3"}
			}})
			if got := p.wait(20 * time.Second); got != tt.want || !strings.Contains(p.Stderr(), tt.stderr) {
				t.Errorf("status %d, stderr %q; want %d %q", got, p.Stderr(), tt.want, tt.stderr)
			}
		})
	}
}
