package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	// Loss explains a row where initd falls short of what a container
	// user wants: why it cannot do better. The test does not require
	// initd's cell to pass on such a row.
	Loss string
	// Serial rows are timing or load sensitive: they run after the
	// others, one init at a time, with nothing else running.
	Serial bool
	Run    func(dir string, i harness.Init) Result
}

// IdleWindow is how long the idle wake-up row watches; the test shortens
// it.
var IdleWindow = 10 * time.Second

// EarlyRuns is how many times the first-millisecond row starts each init;
// the test makes fewer.
var EarlyRuns = 200

// StormOrphans is how many orphans the zombie-visibility row makes; the
// test makes fewer.
var StormOrphans = 5000

// RTBurst is how many queued SIGRTMIN+3 the queueing row sends.
const RTBurst = 300

// sigRTMin3 is SIGRTMIN+3 as the C library counts (its SIGRTMIN is 34).
const sigRTMin3 = syscall.Signal(37)

// trapScript is the shell-form image's entrypoint: a trap whose cleanup
// takes about a second, with the work in a background sleep so that
// "wait" lets the trap run at once. It says it is ready once that sleep
// exists: a SIGTERM that came before the fork would leave a sleep that
// never had it, which initd then waits for until --grace runs out. It is started as "/bin/sh -c
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
while :; do
	sleep 1000 &
	echo ready > trap.ready
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
		{"RTMIN+3", sigRTMin3}, {"SEGV", syscall.SIGSEGV},
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
			Name: "`sh -c ./trap.sh` stopped by SIGTERM: exit status is trap.sh's own (0), not sh's 143",
			Why:  "dash waits for trap.sh instead of exec'ing it, so the main child is sh, which dies of the forwarded SIGTERM (143) while trap.sh cleans up and exits 0; when the shell dies of the stop signal initd delivered and exactly one process it was waiting for is left, initd reports that process's status, as the image would under bash (which execs); `--report-shell` gives sh's 143",
			Run:  trapStatusRow,
		},
		Scenario{
			Name: "orphaned zombies reaped (50 double-forked)",
			Run:  zombieRow,
		},
		Scenario{
			Name:   fmt.Sprintf("zombies visible during %d orphans (peak, /proc sampled every ms)", StormOrphans),
			Why:    "initd's default reaping on Linux 6.15+ (`--reap=kernel`) sets SIGCHLD to SIG_IGN, so the kernel releases every orphan as it exits and no zombie ever exists; the C inits (and `initd --reap=wait`) reap after SIGCHLD, so a few exited orphans wait for a moment as zombies",
			Serial: true,
			Run:    zombiesVisibleRow,
		},
		Scenario{
			Name:   fmt.Sprintf("stop signal in the first millisecond: exit statuses of %d runs, SIGTERM right after the exec (child `sleep 0.05`, no /proc of its own)", EarlyRuns),
			Loss:   "a signal that reaches PID 1 of a namespace before it has a handler or blocks the signal is discarded by the kernel; a C init blocks every signal in the first lines of main, after the dynamic loader (none for the static ones), while the Go runtime installs its handlers only after its own start-up and initd subscribes to TERM and INT first thing in main: a SIGTERM before the handlers is lost (the child runs to its end: 0), one between the runtime's handlers and initd's subscription kills initd with status 2",
			Serial: true,
			Run:    earlyStopRow,
		},
		Scenario{
			Name: "leftover daemon gets SIGTERM and time when the main child exits",
			Why:  "initd sends the leftovers SIGTERM and waits up to `--grace` before SIGKILL (`--grace 0` exits at once like the peers)",
			Run:  leftoverRow,
		},
		Scenario{
			Name: "stop held 1 s for a load balancer to let go (`--stop-delay 1s`): SIGTERM reaches the app after",
			Why:  "none of the peers has such an option (dumb-init's pull requests #173 and #285 asked for it), so each is run as documented and forwards at once; initd holds the stop signal, forwarding the rest meanwhile",
			Run:  stopDelayRow,
		},
		Scenario{
			Name: "the child runs as another user (`--user 65534:65534`): its uid and gid",
			Why:  "none of the peers can drop privileges for the child (tini #74 and #199 asked for it), so images chain gosu or su-exec behind them; run as documented, their child keeps root",
			Run:  userRow,
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
		Scenario{
			Name: fmt.Sprintf("%d queued SIGRTMIN+3 sent back to back: instances delivered", RTBurst),
			Loss: "Go's os/signal keeps one pending bit per signal, so repeats that arrive before initd has read the first merge into one, real-time signals included; the C inits take each queued instance on its own (sigtimedwait, signalfd) and forward it",
			Run:  rtQueueRow,
		},
		shellSignalRow("SIGPROF", syscall.SIGPROF),
		shellSignalRow("signal 34 (SIGRTMIN)", 34),
	)
	for _, sig := range []struct {
		name string
		n    syscall.Signal
		why  string
	}{
		{"HUP", syscall.SIGHUP, "as under nohup"},
		{"QUIT", syscall.SIGQUIT, "as for a background job of a script"},
		{"PIPE", syscall.SIGPIPE, "as a launcher that ignores it leaves it"},
	} {
		s = append(s, ignoreRow(sig.name, sig.n, sig.why))
	}
	return s
}

const whyNotReceivable = "the Go runtime keeps SIGPROF (its profiler's clock) and signals 32 to 34 (the C libraries' own; 34 is musl's) to itself, so initd never sees them; as PID 1 they are discarded, and not as PID 1 a 32 or 34 kills initd (no handler, default action); the C inits wait for every signal and forward these too"

const whyIgnore = "the Go runtime installs its handler for every signal before initd's main and keeps an inherited SIG_IGN only for HUP and INT; any other ignored signal is handled (and forwarded) by initd, and the child starts with it at its default; tini and catatonit leave dispositions alone, so the child inherits the ignore (dumb-init resets HUP, QUIT and PIPE alike)"

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
	devNullOnce.Do(func() {
		devNull, _ = os.OpenFile(os.DevNull, os.O_RDWR, 0)
	})
	if devNull == nil {
		return nil
	}
	return []uintptr{devNull.Fd(), devNull.Fd(), devNull.Fd()}
}

var (
	devNullOnce sync.Once
	devNull     *os.File
)

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

// forwarded sends sig to the init and says whether the recorder writing
// to rec got it.
func forwarded(p *harness.Proc, sig syscall.Signal, rec string) Result {
	p.Signal(sig)
	if received(rec, sig, time.Second) {
		return Result{true, "yes"}
	}
	if code, done := p.WaitTimeout(100 * time.Millisecond); done {
		return Result{false, fmt.Sprintf("no, init exited %d", code)}
	}
	return Result{false, "no"}
}

func signalRow(name string, sig syscall.Signal) Scenario {
	return Scenario{Name: "SIG" + name + " forwarded", Run: func(dir string, i harness.Init) Result {
		rec := filepath.Join(dir, "rec")
		p, r, ok := startReady(i, harness.Helper("record", rec), dir, rec)
		if !ok {
			return r
		}
		defer p.Kill()
		return forwarded(p, sig, rec)
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
	r, _, _ := trap(dir, i)
	return r
}

func trapStatusRow(dir string, i harness.Init) Result {
	r, code, exited := trap(dir, i)
	if !exited {
		return r
	}
	return Result{code == 0, strconv.Itoa(code)}
}

// trap runs the shell-form image, stops it with SIGTERM and tells whether
// the trap's cleanup completed; code is the init's exit status.
func trap(dir string, i harness.Init) (r Result, code int, exited bool) {
	os.WriteFile(filepath.Join(dir, "trap.sh"), []byte(trapScript), 0o755)
	p, r, ok := startReady(i, []string{"/bin/sh", "-c", "./trap.sh"}, dir, filepath.Join(dir, "trap.ready"))
	if !ok {
		return r, 0, false
	}
	t0 := time.Now()
	p.Signal(syscall.SIGTERM)
	took, exited := exitAfter(p, t0, 10*time.Second)
	if !exited {
		return Result{false, took}, 0, false
	}
	code = p.Wait()
	if _, err := os.Stat(filepath.Join(dir, "trap.done")); err == nil {
		return Result{true, "yes, " + took}, code, true
	}
	return Result{false, "cut off, " + took}, code, true
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

// stopDelayRow stops a recorder and measures when it got SIGTERM. initd
// runs with --stop-delay 1s; the peers have no such option.
func stopDelayRow(dir string, i harness.Init) Result {
	isInitd := strings.HasPrefix(i.Name, "initd")
	if isInitd {
		i.Flags = append(slices.Clip(i.Flags), "--stop-delay", "1s")
	}
	rec := filepath.Join(dir, "rec")
	p, r, ok := startReady(i, harness.Helper("record", rec), dir, rec)
	if !ok {
		return r
	}
	defer p.Kill()
	t0 := time.Now()
	p.Signal(syscall.SIGTERM)
	if !received(rec, syscall.SIGTERM, 5*time.Second) {
		return Result{false, "SIGTERM never arrived"}
	}
	took := time.Since(t0)
	text := fmt.Sprintf("after %.1f s", took.Seconds())
	if !isInitd {
		text = "no such option: " + text
	}
	return Result{took >= 900*time.Millisecond, text}
}

// userRow starts sleep and reads its ids from outside. initd runs with
// --user 65534:65534; the peers have no such option.
func userRow(dir string, i harness.Init) Result {
	isInitd := strings.HasPrefix(i.Name, "initd")
	if isInitd {
		i.Flags = append(slices.Clip(i.Flags), "--user", "65534:65534")
	}
	p, err := harness.Start(i.Argv("/bin/sleep", "30"), harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	defer p.Kill()
	var ids string
	harness.Poll(10*time.Second, time.Millisecond, func() bool {
		for _, st := range below(p.Pid) {
			if st.Comm == "sleep" {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/status")
				uid, gid := statusField(string(b), "Uid:"), statusField(string(b), "Gid:")
				ids = "uid " + uid + ", gid " + gid
				return uid != ""
			}
		}
		return false
	})
	if ids == "" {
		return Result{false, "the child never ran"}
	}
	if !isInitd {
		ids = "no such option: " + ids
	}
	return Result{ids == "uid 65534, gid 65534", ids}
}

// below lists the processes under pid, depth first.
func below(pid int) []harness.Stat {
	var out []harness.Stat
	for _, c := range harness.Children(pid) {
		out = append(append(out, c), below(c.Pid)...)
	}
	return out
}

// statusField returns the first value of a /proc/PID/status line (the
// real id of "Uid:"), or "".
func statusField(status, key string) string {
	_, rest, ok := strings.Cut(status, "\n"+key)
	if !ok {
		return ""
	}
	line, _, _ := strings.Cut(rest, "\n")
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	return f[0]
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

// zombiesVisibleRow makes StormOrphans orphans as fast as raw clone calls
// allow, after a go on a FIFO, and counts the init's zombie children in
// /proc every millisecond until the last one is gone: the peak seen.
func zombiesVisibleRow(dir string, i harness.Init) Result {
	done, ctl := filepath.Join(dir, "done"), filepath.Join(dir, "ctl")
	if err := syscall.Mkfifo(ctl, 0o600); err != nil {
		return Result{false, err.Error()}
	}
	// O_RDWR: the go byte waits in the FIFO until the helper reads it.
	f, err := os.OpenFile(ctl, os.O_RDWR, 0)
	if err != nil {
		return Result{false, err.Error()}
	}
	defer f.Close()
	p, err := harness.Start(i.Argv(harness.Helper("orphans", strconv.Itoa(StormOrphans), done, ctl)...),
		harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet()})
	if err != nil {
		return Result{false, err.Error()}
	}
	defer p.Kill()
	peak, samples := 0, 0
	f.Write([]byte{'g'})
	finished := harness.Poll(60*time.Second, time.Millisecond, func() bool {
		z := harness.Zombies(p.Pid)
		peak = max(peak, z)
		samples++
		_, err := os.Stat(done)
		return err == nil && z == 0
	})
	if !finished {
		return Result{false, fmt.Sprintf("not all reaped in 60 s (peak %d)", peak)}
	}
	return Result{peak == 0, fmt.Sprintf("%d (%d samples)", peak, samples)}
}

// earlyStopRow starts the init EarlyRuns times as PID 1 of a new PID
// namespace and sends it SIGTERM as soon as ForkExec returns, that is right
// after the exec; the child, `sleep 0.05`, dies of a forwarded SIGTERM
// (143) or runs to its end (0) if the stop was lost. The cell counts the
// exit statuses.
func earlyStopRow(dir string, i harness.Init) Result {
	counts := map[int]int{}
	for k := 0; k < EarlyRuns; k++ {
		p, err := harness.Start(i.Argv("/bin/sleep", "0.05"), harness.Options{Mode: harness.PID1, Dir: dir, Files: quiet()})
		if err != nil {
			return Result{false, err.Error()}
		}
		p.Signal(syscall.SIGTERM)
		code, ok := p.WaitTimeout(5 * time.Second)
		if !ok {
			p.Kill()
			code = -1
		}
		counts[code]++
	}
	var codes []int
	for c := range counts {
		codes = append(codes, c)
	}
	// The most frequent first.
	sort.Slice(codes, func(a, b int) bool {
		if counts[codes[a]] != counts[codes[b]] {
			return counts[codes[a]] > counts[codes[b]]
		}
		return codes[a] < codes[b]
	})
	var parts []string
	for _, c := range codes {
		what := strconv.Itoa(c)
		switch c {
		case -1:
			what = "hung"
		case 0:
			what = "0 (lost)"
		case 143:
			what = "143 (stopped)"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", what, counts[c]))
	}
	return Result{counts[143] == EarlyRuns, strings.Join(parts, ", ")}
}

// rtQueueRow sends RTBurst SIGRTMIN+3 to the init back to back; the child
// blocks the signal and reads it from a signalfd, so every queued instance
// that reaches it counts.
func rtQueueRow(dir string, i harness.Init) Result {
	f := filepath.Join(dir, "count")
	p, r, ok := startReady(i, harness.Helper("sigcount", strconv.Itoa(int(sigRTMin3)), f), dir, f)
	if !ok {
		return r
	}
	defer p.Kill()
	for k := 0; k < RTBurst; k++ {
		p.Signal(sigRTMin3)
	}
	n, last, since := 0, -1, time.Now()
	harness.Poll(10*time.Second, 10*time.Millisecond, func() bool {
		b, _ := os.ReadFile(f)
		n, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		if n != last {
			last, since = n, time.Now()
		}
		return n >= RTBurst || time.Since(since) > 500*time.Millisecond
	})
	return Result{n == RTBurst, fmt.Sprintf("%d of %d", n, RTBurst)}
}

// shellRecorder is a recorder in dash, for the signals a Go child cannot
// receive: each trap appends the signal's number.
const shellRecorder = `trap 'echo 27 >> rec' PROF
trap 'echo 34 >> rec' 34
echo ready >> rec
while :; do
	sleep 1000 &
	wait $!
done
`

func shellSignalRow(name string, sig syscall.Signal) Scenario {
	return Scenario{Name: name + " forwarded (child: a dash trap)", Loss: whyNotReceivable, Run: func(dir string, i harness.Init) Result {
		os.WriteFile(filepath.Join(dir, "rec.sh"), []byte(shellRecorder), 0o755)
		rec := filepath.Join(dir, "rec")
		p, r, ok := startReady(i, []string{"/bin/sh", "./rec.sh"}, dir, rec)
		if !ok {
			return r
		}
		defer p.Kill()
		return forwarded(p, sig, rec)
	}}
}

// ignoreRow starts the init with sig set to SIG_IGN and reads the child's
// SigIgn from /proc: the ignore should reach the child, as it would
// without an init.
func ignoreRow(name string, sig syscall.Signal, why string) Scenario {
	sc := Scenario{Name: fmt.Sprintf("inherited SIG_IGN of SIG%s (%s) reaches the child", name, why), Run: func(dir string, i harness.Init) Result {
		p, err := harness.Start(i.Argv("/bin/sh", "-c", "cat /proc/self/status > status"),
			harness.Options{Mode: harness.PID1Proc, Dir: dir, Files: quiet(), Ignore: []syscall.Signal{sig}})
		if err != nil {
			return Result{false, err.Error()}
		}
		if _, ok := p.WaitTimeout(10 * time.Second); !ok {
			p.Kill()
			return Result{false, "hung"}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "status"))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
				mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil {
					break
				}
				if mask&(1<<(sig-1)) != 0 {
					return Result{true, "kept"}
				}
				return Result{false, "reset to default"}
			}
		}
		return Result{false, "child did not run"}
	}}
	if sig != syscall.SIGHUP && sig != syscall.SIGINT {
		sc.Loss = whyIgnore
	}
	return sc
}
