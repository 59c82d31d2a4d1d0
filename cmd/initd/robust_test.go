package main

// Robustness: bad input through every door, names and arguments at the
// kernel's limits, broken standard descriptors and odd /dev set-ups, fork
// failing under a pids limit, and load. Each test asserts what a user sees:
// the status, the message, which process got which signal.

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	// forkloop starts short-lived grandchildren as fast as it can: each
	// is a sh that leaves an orphan (sleep 0.2) for initd to reap and
	// exits. When a fork fails with EAGAIN (its own or the sh's, which then
	// exits 2) it counts, backs off a little and goes on; it prints
	// "forkloop forkfail WHY" on the first failure and "forkloop recovered
	// after N failures" on the first success after 20 failures, which needs
	// initd to have reaped the orphans meanwhile. It never exits by itself,
	// and does not handle SIGTERM.
	registerHelper("forkloop", func(args []string) {
		runtime.GOMAXPROCS(1)
		null, _ := os.OpenFile("/dev/null", os.O_WRONLY, 0)
		fails, recovered := 0, false
		fail := func(why string) {
			if fails == 0 {
				fmt.Println("forkloop forkfail", why)
			}
			fails++
			time.Sleep(time.Millisecond)
		}
		for {
			pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "sleep 0.2 & exit 0"},
				&syscall.ProcAttr{Files: []uintptr{0, 1, null.Fd()}})
			if err != nil {
				fail(err.Error())
				continue
			}
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
			if ws.ExitStatus() != 0 {
				fail("sh: cannot fork")
				continue
			}
			if fails >= 20 && !recovered {
				recovered = true
				fmt.Println("forkloop recovered after", fails, "failures")
			}
		}
	})
	// counter counts the SIGUSR1s, SIGUSR2s and SIGWINCHs it receives. It
	// prints "counter ready" first, "counter marked N" on SIGRTMIN+10, and
	// "counter counted N" on SIGTERM, and then exits 7.
	registerHelper("counter", func(args []string) {
		c := make(chan os.Signal, 4096)
		signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGTERM, marker)
		fmt.Println("counter ready")
		n := 0
		for s := range c {
			switch s {
			case syscall.SIGTERM:
				fmt.Println("counter counted", n)
				os.Exit(7)
			case marker:
				fmt.Println("counter marked", n)
			default:
				n++
			}
		}
	})
}

// marker follows a burst of standard signals: both initd and the kernel
// hand pending signals on lowest number first, so a child that got the
// marker has got everything initd was sent before it.
const marker = syscall.Signal(34 + 10)

// Every bad value through every flag and every environment variable is a
// usage error (status 2) whose message names the option or variable, and
// never a hang.
func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{}, `no command given`},
		{[]string{"--"}, `no command given`},
		{[]string{"", "x"}, `command name is empty`},
		{[]string{"--bogus", "true"}, `unknown option --bogus`},
		{[]string{"--rewrite", "TERM", "true"}, `want FROM:TO`},
		{[]string{"--grace", "5parsecs", "true"}, `--grace`},
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

func TestBadEnvironment(t *testing.T) {
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
		"INITD_GRACE=soon",
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
	if got, p := run(t, runOpt{env: []string{"INITD_GRACE=soon"}}, "--grace", "1s", "true"); got != 2 || !strings.HasPrefix(p.Stderr(), "initd: INITD_GRACE=") {
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
func TestArgMax(t *testing.T) {
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
func TestNamesAndPath(t *testing.T) {
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

// With stdin and stderr closed, initd and the child still run: the closed
// descriptors are opened on /dev/null so nothing else lands there.
func TestClosedStdio(t *testing.T) {
	p := start(t, runOpt{}, append([]string{"--", "/bin/sh", "-c", `exec "$@" <&- 2>&-`, "sh", initdBin, "-v", "--"}, helper("args", "x")...)...)
	if got := p.wait(20 * time.Second); got != 0 {
		t.Errorf("status %d", got)
	}
	fds := lineWith(p.Out(), "fds ")
	if !strings.HasPrefix(fds, "fds 0,1,2") {
		t.Errorf("child descriptors %q, want 0, 1 and 2 open", fds)
	}
}

// stderr is a pipe whose reader is gone: whatever initd has to say
// (usage error, exec failure, verbose logs of reaps and forwards), it
// still exits with the right status and is never killed by SIGPIPE.
func TestStderrReaderGone(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"--bogus", "x"}, 2},
		{[]string{"--", "/no/such/command"}, 127},
		{append([]string{"-vvv", "-w", "--"}, orphanReaped(t, 4)...), 4},
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
			p.expectEvent("child", "ready")
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
func TestDevNullOddities(t *testing.T) {
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

// pidsCgroup makes a new pids cgroup (v1 or v2) and returns its directory,
// or skips the test with the reason.
func pidsCgroup(t *testing.T) string {
	t.Helper()
	requireNamespaces(t)
	own, _ := os.ReadFile("/proc/self/cgroup")
	var parent string
	for _, l := range strings.Split(string(own), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		if strings.Contains(","+f[1]+",", ",pids,") {
			parent = filepath.Join("/sys/fs/cgroup/pids", f[2]) // v1
		}
	}
	if parent == "" || !exists(filepath.Join(parent, "cgroup.procs")) {
		// cgroup v2: the pids controller must be enabled for children.
		parent = ""
		for _, l := range strings.Split(string(own), "\n") {
			if strings.HasPrefix(l, "0::") {
				parent = filepath.Join("/sys/fs/cgroup", l[3:])
			}
		}
		ctl, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
		if !strings.Contains(string(ctl), "pids") {
			os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+pids"), 0)
		}
		ctl, _ = os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
		if !strings.Contains(string(ctl), "pids") {
			skip(t, "no pids cgroup controller available to make a small pids limit (neither v1 nor v2 with +pids)")
		}
	}
	dir := filepath.Join(parent, fmt.Sprintf("initd-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		skip(t, "cannot create a pids cgroup: "+err.Error())
	}
	if !exists(filepath.Join(dir, "pids.max")) {
		os.Remove(dir)
		skip(t, "the new cgroup has no pids.max")
	}
	t.Cleanup(func() {
		// Everything in it is dead once the test's initd is gone; the
		// namespace's teardown may take a moment.
		for i := 0; i < 100 && os.Remove(dir) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return dir
}

// inCgroup makes a PID-1 start() run initd inside cgroup dir with
// pids.max set to max: a shell joins the cgroup, sets the limit, and
// execs initd, so no Go runtime threads of the wrapper count.
func inCgroup(dir string, max int) func(*exec.Cmd) {
	return func(c *exec.Cmd) {
		self, _ := os.Executable()
		script := `echo $$ > "$1/cgroup.procs" && echo "$2" > "$1/pids.max" && shift 2 && exec "$@"`
		c.Args = append([]string{self, "/bin/sh", "-c", script, "sh", dir, strconv.Itoa(max)}, c.Args[1:]...)
	}
}

// The child forks in a loop into a small pids limit: initd keeps reaping
// the orphans (so the child's forks succeed again), stays responsive to
// SIGTERM, and exits with the child's status (143: it does not handle
// SIGTERM).
func TestPidsLimitForkLoop(t *testing.T) {
	dir := pidsCgroup(t)
	p := start(t, runOpt{pid1: true, setup: inCgroup(dir, 40)}, append([]string{"--"}, helper("forkloop")...)...)
	p.expectEvent("forkloop", "forkfail")
	p.expectEvent("forkloop", "recovered")
	events, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
	t.Logf("pids.events: %s", strings.TrimSpace(string(events)))
	// Still under pressure: forwarding and reaping go on.
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 143 {
		t.Errorf("status %d, want 143; stderr %q", got, p.Stderr())
	}
	if strings.Contains(p.Stderr(), "fatal error") {
		t.Errorf("initd crashed: %s", p.Stderr())
	}
}

// initd cannot fork the child (EAGAIN from the pids limit): 125 and
// "initd: cannot start CMD: fork: resource temporarily unavailable". The
// limit has to leave room for the Go runtime's own threads, which count
// as pids too: below that (about 6 here) the runtime aborts before or
// while initd starts ("fatal error: newosproc", status 2), which is
// documented in docs/hardening.md. The test raises the limit one at a time
// until initd no longer crashes, and requires the first such run to be
// the clean 125 (or, should thread creation happen to be later on this
// machine, tries the sweep again).
func TestSpawnEAGAIN(t *testing.T) {
	dir := pidsCgroup(t)
	var seen []string
	for attempt := 0; attempt < 3; attempt++ {
		for max := 1; max <= 30; max++ {
			p := start(t, runOpt{pid1: true, setup: inCgroup(dir, max)}, "--", "/bin/true")
			got := p.wait(20 * time.Second)
			s := p.Stderr()
			seen = append(seen, fmt.Sprintf("pids.max=%d: %d", max, got))
			switch {
			case got == 2 && strings.Contains(s, "fatal error: newosproc"):
				continue // the runtime could not make its threads
			case got == 125:
				want := "initd: cannot start /bin/true: fork: resource temporarily unavailable"
				if !strings.HasPrefix(s, want) {
					t.Errorf("stderr %q, want %q", s, want)
				}
				t.Logf("initd needs %d pids of its own; %v", max, seen)
				return
			case got == 0:
				// The limit was enough for initd and the child: the
				// clean failure was skipped over this time.
			default:
				t.Fatalf("pids.max=%d: status %d, stderr %q", max, got, s)
			}
			break
		}
	}
	t.Errorf("never saw status 125 for a fork that failed: %v", seen)
}

// Signals sent to initd in bursts while the child counts them: initd does
// not crash, keeps up, its RSS after the storm is within 1 MiB of before,
// and the child's exit status comes through. Repeated signals merge (the
// kernel keeps one pending instance of each standard signal), so the
// child counts fewer than were sent, but at least one per burst.
func TestSignalStorm(t *testing.T) {
	total, burst := 50000, 5000
	if loadTests() {
		total, burst = 1000000, 10000
	}
	p := start(t, pid1, append([]string{"--"}, helper("counter")...)...)
	p.expectEvent("counter", "ready")
	before := rss(t, p.Pid())
	sigs := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	var first, last time.Duration
	for sent := 0; sent < total; sent += burst {
		b := time.Now()
		for i := 0; i < burst; i++ {
			if err := syscall.Kill(p.Pid(), sigs[i%len(sigs)]); err != nil {
				t.Fatalf("after %d signals: %v", sent+i, err)
			}
		}
		d := time.Since(b)
		if sent == 0 {
			first = d
		}
		last = d
		// Bursts, not a flood: the gap lets the kernel's merged
		// pending signals through before the next burst.
		time.Sleep(10 * time.Millisecond)
	}
	p.signal(marker)
	p.expectEvent("counter", "marked")
	after := rss(t, p.Pid())
	p.signal(syscall.SIGTERM)
	n := atoi(t, p.expectEvent("counter", "counted")[2])
	if got := p.wait(20 * time.Second); got != 7 {
		t.Errorf("status %d, want the child's 7", got)
	}
	t.Logf("%d signals in bursts of %d: RSS %d kB before, %d kB after; child counted %d; first burst %v, last %v",
		total, burst, before, after, n, first.Round(time.Microsecond), last.Round(time.Microsecond))
	if after-before > 1024 {
		t.Errorf("RSS grew from %d kB to %d kB", before, after)
	}
	if n < total/burst {
		t.Errorf("child counted %d signals, fewer than one per burst", n)
	}
}
