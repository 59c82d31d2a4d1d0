package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/initd/initd/bench/internal/harness"
)

// Result is one cell of the table: whether the init did what a container
// user wants, and what was seen.
type Result struct {
	Pass bool
	Text string
}

func (r Result) String() string {
	if r.Pass {
		return "✅ " + r.Text
	}
	return "❌ " + r.Text
}

// Scenario is one row of the table.
type Scenario struct {
	Name string
	// Why explains a cell where initd differs from a peer on purpose.
	Why string
	Run func(dir string, i harness.Init) Result
}

// IdleWindow is how long the idle wake-up row watches; the test shortens
// it.
var IdleWindow = 10 * time.Second

// trapScript is the shell-form image's entrypoint: a trap whose cleanup
// takes about a second, with the work in a background sleep so that
// "wait" lets the trap run at once. It is started as "/bin/sh -c
// ./trap.sh", so dash forks it: the init's child is the outer sh, which
// has no trap and dies of SIGTERM at once.
const trapScript = `#!/bin/sh
cleanup() {
	trap '' TERM INT
	sleep 1
	echo done > trap.done
	exit 0
}
trap cleanup TERM INT
echo ready > trap.ready
while :; do
	sleep 1000 &
	wait $!
done
`

const whyExecCodes = "initd reports 127 (not found) and 126 (not executable) as a shell and tini do, so users see the usual codes; dumb-init exits 2 and catatonit 1 for both"

// Scenarios are the rows, in table order.
func Scenarios() []Scenario {
	s := []Scenario{
		exitRow("exit code 0 passed on", 0),
		exitRow("exit code 42 passed on", 42),
		exitRow("exit code 255 passed on", 255),
		{
			Name: "child killed by SIGKILL: 128+9",
			Run: func(dir string, i harness.Init) Result {
				return code(i, harness.Helper("killself", "9"), dir, 137)
			},
		},
		{
			Name: "command not found: 127",
			Why:  whyExecCodes,
			Run: func(dir string, i harness.Init) Result {
				return code(i, []string{"/nonexistent/app"}, dir, 127)
			},
		},
		{
			Name: "command not executable: 126",
			Why:  whyExecCodes,
			Run: func(dir string, i harness.Init) Result {
				p := filepath.Join(dir, "app")
				os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644)
				return code(i, []string{p}, dir, 126)
			},
		},
	}
	for _, sig := range []struct {
		name string
		n    syscall.Signal
	}{
		{"TERM", syscall.SIGTERM}, {"INT", syscall.SIGINT}, {"HUP", syscall.SIGHUP},
		{"QUIT", syscall.SIGQUIT}, {"USR1", syscall.SIGUSR1}, {"WINCH", syscall.SIGWINCH},
		{"RTMIN+3", 37}, {"SEGV", syscall.SIGSEGV},
	} {
		s = append(s, signalRow(sig.name, sig.n))
	}
	s[len(s)-1].Name = "SIGSEGV (sent with kill) forwarded"
	s[len(s)-1].Why = "tini and catatonit leave the fault signals out of the set they wait for (a real fault must crash them), so as PID 1 the kernel discards the ones sent with kill; Go tells a fault from a kill, so initd forwards the latter and still crashes on the former"
	s = append(s,
		Scenario{
			Name: "SIGTERM reaches the child's process group",
			Why:  "initd signals the group by default (like dumb-init): that is what stops the rest of a `sh -c` pipeline; `-c` restricts it to the child",
			Run:  groupRow,
		},
		Scenario{
			Name: "`sh -c ./trap.sh`: 1 s cleanup trap completes on SIGTERM",
			Why:  "after the main child (sh) exits, initd gives the rest `--grace` (5 s) instead of exiting at once, which as PID 1 would SIGKILL the namespace; the group already had SIGTERM, so the trap does not run twice",
			Run:  trapRow,
		},
		Scenario{
			Name: "orphaned zombies reaped (50 double-forked)",
			Run:  zombieRow,
		},
		Scenario{
			Name: "leftover daemon gets SIGTERM and time when the main child exits",
			Why:  "initd sends the leftovers SIGTERM and waits up to `--grace` before SIGKILL (`--grace 0` exits at once like the peers)",
			Run:  leftoverRow,
		},
		Scenario{
			Name: "not PID 1: orphans adopted (subreaper), then stopped",
			Why:  "initd registers as subreaper whenever it is not PID 1, and on exit stops only processes of its own tree",
			Run:  notPID1Row,
		},
		Scenario{
			Name: "idle wake-ups (context switches, all threads)",
			Why:  "initd has no timers while idle; tini polls every second",
			Run:  idleRow,
		},
	)
	return s
}

func exitRow(name string, n int) Scenario {
	return Scenario{Name: name, Run: func(dir string, i harness.Init) Result {
		return code(i, harness.Helper("exit", strconv.Itoa(n)), dir, n)
	}}
}

// code runs child under i as PID 1 and compares its exit code with want.
func code(i harness.Init, child []string, dir string, want int) Result {
	p, err := harness.Start(i.Argv(child...), harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	got, ok := p.WaitTimeout(10 * time.Second)
	if !ok {
		p.Kill()
		return Result{false, "hung"}
	}
	return Result{got == want, strconv.Itoa(got)}
}

// quiet gives the init and child /dev/null for output: the peers' warnings
// would otherwise interleave with the table.
func quiet() []uintptr {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	return []uintptr{f.Fd(), f.Fd(), f.Fd()}
}

// startReady starts child under i as PID 1 and waits for file to exist.
func startReady(i harness.Init, child []string, dir, file string) (*harness.Proc, Result, bool) {
	p, err := harness.Start(i.Argv(child...), harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return nil, Result{false, err.Error()}, false
	}
	ready := harness.Poll(10*time.Second, time.Millisecond, func() bool {
		select {
		case <-p.Done():
			return true
		default:
		}
		b, _ := os.ReadFile(file)
		return len(b) > 0
	})
	select {
	case <-p.Done():
		return nil, Result{false, "init exited " + strconv.Itoa(p.Wait()) + " before the child was ready"}, false
	default:
	}
	if !ready {
		p.Kill()
		return nil, Result{false, "child never got ready"}, false
	}
	return p, Result{}, true
}

// received waits up to d for file (written by the record helper) to list sig.
func received(file string, sig syscall.Signal, d time.Duration) bool {
	want := strconv.Itoa(int(sig))
	return harness.Poll(d, time.Millisecond, func() bool {
		b, _ := os.ReadFile(file)
		for _, l := range strings.Split(string(b), "\n") {
			if l == want {
				return true
			}
		}
		return false
	})
}

func signalRow(name string, sig syscall.Signal) Scenario {
	return Scenario{Name: "SIG" + name + " forwarded", Run: func(dir string, i harness.Init) Result {
		rec := filepath.Join(dir, "rec")
		p, r, ok := startReady(i, harness.Helper("record", rec), dir, rec)
		if !ok {
			return r
		}
		defer p.Kill()
		p.Signal(sig)
		if received(rec, sig, time.Second) {
			return Result{true, "yes"}
		}
		if code, done := p.WaitTimeout(100 * time.Millisecond); done {
			return Result{false, fmt.Sprintf("no, init exited %d", code)}
		}
		return Result{false, "no"}
	}}
}

func groupRow(dir string, i harness.Init) Result {
	main, grand := filepath.Join(dir, "main"), filepath.Join(dir, "grand")
	p, r, ok := startReady(i, harness.Helper("group", main, grand), dir, main)
	if !ok {
		return r
	}
	defer p.Kill()
	p.Signal(syscall.SIGTERM)
	if !received(main, syscall.SIGTERM, time.Second) {
		return Result{false, "child got nothing"}
	}
	if received(grand, syscall.SIGTERM, 200*time.Millisecond) {
		return Result{true, "group"}
	}
	return Result{false, "child only"}
}

func trapRow(dir string, i harness.Init) Result {
	os.WriteFile(filepath.Join(dir, "trap.sh"), []byte(trapScript), 0o755)
	p, r, ok := startReady(i, []string{"/bin/sh", "-c", "./trap.sh"}, dir, filepath.Join(dir, "trap.ready"))
	if !ok {
		return r
	}
	t0 := time.Now()
	p.Signal(syscall.SIGTERM)
	took, exited := exitAfter(p, t0, 10*time.Second)
	if !exited {
		return Result{false, took}
	}
	if _, err := os.Stat(filepath.Join(dir, "trap.done")); err == nil {
		return Result{true, "yes, " + took}
	}
	return Result{false, "cut off, " + took}
}

// exitAfter waits up to limit for the init to exit and describes its exit
// ("exit 143 after 1.0 s", counted from since); an init that does not exit
// is killed and reported as such.
func exitAfter(p *harness.Proc, since time.Time, limit time.Duration) (string, bool) {
	code, exited := p.WaitTimeout(limit)
	if !exited {
		p.Kill()
		return "init never exited", false
	}
	return fmt.Sprintf("exit %d after %.1f s", code, p.Ended().Sub(since).Seconds()), true
}

func zombieRow(dir string, i harness.Init) Result {
	done := filepath.Join(dir, "done")
	p, r, ok := startReady(i, harness.Helper("orphans", "50", done), dir, done)
	if !ok {
		return r
	}
	defer p.Kill()
	var z int
	harness.Poll(2*time.Second, 20*time.Millisecond, func() bool {
		z = harness.Zombies(p.Pid)
		return z == 0
	})
	return Result{z == 0, fmt.Sprintf("%d left", z)}
}

func leftoverRow(dir string, i harness.Init) Result {
	f := filepath.Join(dir, "daemon")
	p, err := harness.Start(i.Argv(harness.Helper("leftover", f)...), harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	took, exited := exitAfter(p, p.Start, 15*time.Second)
	if !exited {
		return Result{false, took}
	}
	if _, err := os.Stat(f); err == nil {
		return Result{true, "yes, " + took}
	}
	return Result{false, "killed at once, " + took}
}

func notPID1Row(dir string, i harness.Init) Result {
	f := filepath.Join(dir, "stray")
	p, err := harness.Start(i.Argv(harness.Helper("escape", f)...), harness.Options{Mode: harness.Plain, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	exit, exited := exitAfter(p, p.Start, 15*time.Second)
	if !exited {
		return Result{false, exit}
	}
	b, _ := os.ReadFile(f + ".ppid")
	adopted := string(b) == strconv.Itoa(p.Pid)
	if _, err := os.Stat(f + ".term"); err == nil && adopted {
		return Result{true, "adopted, got SIGTERM, " + exit}
	}
	if adopted {
		return Result{false, "adopted, left running, " + exit}
	}
	return Result{false, "escaped, left running, " + exit}
}

func idleRow(dir string, i harness.Init) Result {
	p, err := harness.Start(i.Argv("/bin/sleep", "1000"), harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	defer p.Kill()
	// Let start-up settle: the Go runtime's monitor thread backs off over
	// the first milliseconds.
	harness.Poll(5*time.Second, time.Millisecond, func() bool { return harness.ChildExeced(p.Pid, "sleep") })
	time.Sleep(500 * time.Millisecond)
	a, ok1 := harness.ReadUsage(p.Pid)
	time.Sleep(IdleWindow)
	b, ok2 := harness.ReadUsage(p.Pid)
	if !ok1 || !ok2 {
		return Result{false, "init gone"}
	}
	n := b.Switches - a.Switches
	perMin := float64(n) / IdleWindow.Minutes()
	return Result{perMin <= 1.01 || n <= 1, fmt.Sprintf("%d in %.0f s", n, IdleWindow.Seconds())}
}
