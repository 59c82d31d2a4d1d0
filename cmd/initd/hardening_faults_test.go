package main

// Faults: fork failing under a pids cgroup limit, daemons escaping with
// setsid(), and initd itself being SIGKILLed from outside.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// forkloop starts short-lived grandchildren as fast as it can: each
	// is a sh that leaves an orphan (sleep 0.2) for initd to reap and
	// exits. When a fork fails with EAGAIN (its own or the sh's, which then
	// exits 2) it counts, backs off a little
	// and goes on; it prints "forkfail" on the first failure and
	// "recovered" on the first success after 20 failures, which needs
	// initd to have reaped the orphans meanwhile. It never exits by
	// itself, and does not handle SIGTERM.
	registerHelper("forkloop", func(args []string) {
		runtime.GOMAXPROCS(1)
		null, _ := os.OpenFile("/dev/null", os.O_WRONLY, 0)
		fails, recovered := 0, false
		fail := func(why string) {
			if fails == 0 {
				fmt.Println("forkfail", why)
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
				fmt.Println("recovered after", fails, "failures")
			}
		}
	})
	// subreaper becomes a child subreaper, starts the rest of its
	// arguments, prints "started PID", and then reports every process it
	// reaps as "reaped PID STATUS". It stands for the container runtime
	// or shell above a non-PID-1 initd.
	registerHelper("subreaper", func(args []string) {
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		p, err := os.StartProcess(args[0], args, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
		if err != nil {
			fmt.Println("cannot start:", err)
			os.Exit(1)
		}
		fmt.Println("started", p.Pid)
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			code := ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			fmt.Println("reaped", pid, code)
		}
	})
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
func TestHardeningPidsLimitForkLoop(t *testing.T) {
	dir := pidsCgroup(t)
	p := start(t, runOpt{pid1: true, setup: inCgroup(dir, 40)}, append([]string{"--"}, helper("forkloop")...)...)
	p.expect("forkfail")
	p.expect("recovered")
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
func TestHardeningSpawnEAGAIN(t *testing.T) {
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

// A daemon that escapes the child's process group and session with
// setsid(), as PID 1: it still gets SIGTERM when the main child exits
// and the grace period to finish its cleanup; initd then exits with the
// main child's status. One that ignores SIGTERM is SIGKILLed at the end
// of --grace.
func TestHardeningSetsidDaemonPID1(t *testing.T) {
	daemon := `setsid /bin/sh -c 'trap "echo daemon got TERM; sleep 0.3; echo daemon done; exit 0" TERM; echo daemon ready $(ps -o sid= $$ 2>/dev/null); while :; do sleep 0.05; done' &`
	p := start(t, pid1, "--", "/bin/sh", "-c", daemon+` sleep 0.3; exit 3`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	if !p.has("daemon got TERM") || !p.has("daemon done") {
		t.Errorf("the setsid daemon did not get SIGTERM and its grace: %q", p.Out())
	}
	// initd's SIGTERM from outside reaches the child's group only; the
	// daemon gets its SIGTERM when the child is gone.
	p = start(t, pid1, "--", "/bin/sh", "-c", daemon+` trap 'exit 5' TERM; while :; do sleep 0.05; done`)
	p.expect("daemon ready")
	p.signal(syscall.SIGTERM)
	if got := p.wait(20 * time.Second); got != 5 {
		t.Errorf("status %d, want 5", got)
	}
	if !p.has("daemon done") {
		t.Errorf("the setsid daemon did not finish its cleanup: %q", p.Out())
	}
	p = start(t, pid1, "--grace", "300ms", "--", "/bin/sh", "-c", `setsid /bin/sh -c 'trap "" TERM; echo daemon ready; sleep 60; echo survived' & sleep 0.3; exit 4`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 4 {
		t.Errorf("status %d, want 4", got)
	}
	if p.has("survived") {
		t.Error("the daemon ignoring SIGTERM survived the grace period")
	}
}

// Not PID 1: the setsid daemon is re-parented to initd (the subreaper),
// gets SIGTERM as a leftover, and is reaped: nothing is left behind.
func TestHardeningSetsidDaemonSubreaper(t *testing.T) {
	p := start(t, runOpt{}, "--", "/bin/sh", "-c", `setsid /bin/sh -c 'trap "read -r _ _ _ ppid _ < /proc/\$\$/stat; echo daemon got TERM, parent \$ppid; exit 0" TERM; echo daemon ready $$; while :; do sleep 0.05; done' & sleep 0.3; exit 3`)
	daemon := fieldInt(t, p.expect("daemon ready"), 2)
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	// It had been re-parented to initd when it got initd's SIGTERM.
	p.saw(fmt.Sprintf("daemon got TERM, parent %d", p.Pid()))
	if _, ok := stat(daemon); ok {
		t.Errorf("daemon %d still exists after initd exited", daemon)
	}
}

// Not PID 1, a daemon whose parent (in the child's group) is still alive
// when the main child exits is re-parented to initd only after initd's
// SIGTERM sweep of the leftovers (the parent takes 0.2 s over its own
// SIGTERM, so the order is certain). It should still get SIGTERM and the
// grace period, not just the SIGKILL at its end.
func TestHardeningLateOrphanGetsTERM(t *testing.T) {
	p := start(t, runOpt{}, "--grace", "3s", "--", "/bin/sh", "-c", `
( setsid /bin/sh -c 'trap "echo daemon got TERM; exit 0" TERM; echo daemon ready; while :; do sleep 0.05; done' &
  trap 'sleep 0.2; exit 0' TERM; while :; do sleep 0.05; done ) &
sleep 0.3; exit 3`)
	p.expect("daemon ready")
	if got := p.wait(20 * time.Second); got != 3 {
		t.Errorf("status %d, want 3", got)
	}
	if !p.has("daemon got TERM") {
		t.Errorf("a leftover re-parented to initd after the SIGTERM sweep got no SIGTERM: %q", p.Out())
	}
}

// initd SIGKILLed from outside while not PID 1: nothing can run in initd,
// so the child is not signalled; it keeps running and is re-parented to
// the nearest subreaper (here the test's helper, in a container the
// runtime's shim or the host's init). The opt-in protection is a second
// initd with -p: "initd -- initd -p TERM -- app" makes the kernel send the
// inner initd SIGTERM when the outer one dies, and it forwards it.
func TestHardeningSIGKILLNotPID1(t *testing.T) {
	underSubreaper := func(argv ...string) func(*exec.Cmd) {
		return func(c *exec.Cmd) {
			c.Args = helper("subreaper", argv...)
			c.Path = c.Args[0]
		}
	}
	// The child records every signal: with its own preemption off it
	// records no SIGURG of its runtime's.
	quiet := []string{"GODEBUG=asyncpreemptoff=1"}
	p := start(t, runOpt{env: quiet, setup: underSubreaper(append([]string{initdBin, "--"}, helper("record", "child", "TERM")...)...)})
	initd := fieldInt(t, p.expect("started"), 1)
	child := fieldInt(t, p.expect("child ready"), 2)
	syscall.Kill(initd, syscall.SIGKILL)
	p.expect(fmt.Sprintf("reaped %d 137", initd))
	if !waitFor(func() bool { st, _ := stat(child); return st.ppid == p.Pid() }) {
		t.Fatalf("the child was not re-parented to the subreaper above initd")
	}
	time.Sleep(200 * time.Millisecond)
	if st, ok := stat(child); !ok || st.state == 'Z' || p.has("child got") {
		t.Fatalf("the child did not keep running untouched: %v %q", ok, p.Out())
	}
	syscall.Kill(child, syscall.SIGTERM)
	p.expect(fmt.Sprintf("reaped %d 0", child))

	// Opt-in: an inner initd with -p TERM turns the outer one's death
	// into a SIGTERM for the app.
	p = start(t, runOpt{setup: underSubreaper(append([]string{initdBin, "--", initdBin, "-p", "TERM", "--"}, helper("record", "child", "TERM")...)...)})
	initd = fieldInt(t, p.expect("started"), 1)
	p.expect("child ready")
	syscall.Kill(initd, syscall.SIGKILL)
	p.saw("child got SIGTERM")
	p.saw(fmt.Sprintf("reaped %d 137", initd))
	// The inner initd exits with the app's status and is reaped too.
	if !waitFor(func() bool {
		n := 0
		for _, l := range p.Out() {
			if strings.HasPrefix(l, "reaped ") && strings.HasSuffix(l, " 0") {
				n++
			}
		}
		return n >= 1
	}) {
		t.Errorf("the inner initd did not exit 0: %q", p.Out())
	}
}

// initd SIGKILLed as PID 1: the kernel tears the PID namespace down, so
// nothing it started survives.
func TestHardeningSIGKILLPID1(t *testing.T) {
	p := start(t, pid1, "--", "/bin/sh", "-c", `(trap "" TERM; sleep 60) & trap "" TERM; echo ready; sleep 60`)
	p.expect("ready")
	var kids []int
	waitFor(func() bool { kids = descendants(p.Pid()); return len(kids) >= 3 })
	p.signal(syscall.SIGKILL)
	p.wait(20 * time.Second)
	if !waitFor(func() bool {
		for _, k := range kids {
			if _, ok := stat(k); ok {
				return false
			}
		}
		return true
	}) {
		t.Errorf("processes of the namespace survived initd's SIGKILL: %v", kids)
	}
}
