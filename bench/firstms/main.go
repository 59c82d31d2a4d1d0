// Command firstms measures an init's first millisecond: how long after the
// exec a SIGTERM is lost (the kernel discards a signal that reaches PID 1
// of a namespace before it has a handler or has blocked the signal), and,
// for the Go inits, how long after that it kills the init with status 2 (a
// stop signal that arrives between the Go runtime installing its handlers
// and the program's subscription is handled as for a program that asked
// for nothing). It compares initd, the floor (bench/floor), the floor
// built to subscribe in its first package's init (floor-early) and the C
// peers, which block every signal at the top of main and so have no
// second window.
//
//	go run ./bench/firstms            # about 5 minutes
//	go run ./bench/firstms -quick     # under 2 minutes
//
// Each run starts INIT -- /bin/sleep 0.05 as PID 1 of a new PID namespace
// (no /proc of its own: nothing runs between the exec and the signal),
// waits a set delay after ForkExec returned (the child has exec'd by then)
// and sends SIGTERM. The wait sleeps and busy-waits only its last
// microseconds: a bench that spun all along would hold a CPU the init may
// have been placed on, and delay its start by a whole time slice. The init then exits 0 (the signal was lost and
// sleep ran to its end), 2 (the Go runtime died of it) or 143 (forwarded:
// sleep died of it). Delays step through a range, every init in turn at
// each step. The actual delay at the kill is recorded, since the bench
// itself may be preempted while it waits.
//
// The width of a window is the integral over the delay of the share of
// runs that fell into it: for a window [a, b] shifted by a random
// scheduling delay that does not depend on the chosen delay, the integral
// is b - a whatever that jitter's distribution, so the figure holds on a
// loaded machine too, given a range wide enough for the shares to reach 0
// at its end. It needs root for PID namespaces.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/bench/internal/harness"
)

// Outcomes, by exit status.
const (
	lost      = 0
	died      = 2
	forwarded = 128 + int(syscall.SIGTERM)
)

// spin is how long before the delay the sleep ends and the busy wait
// takes over: more than a wake-up from nanosleep takes on an idle machine.
const spin = 30 * time.Microsecond

type tally struct {
	n, lost, died, fwd, other int
}

func main() {
	harness.RunHelper()
	quick := flag.Bool("quick", false, "fewer runs per delay")
	runs := flag.Int("runs", 0, "runs per init and delay (default 6, quick 2)")
	step := flag.Duration("step", 100*time.Microsecond, "delay step")
	maxDelay := flag.Duration("max", 10*time.Millisecond, "largest delay; the shares must reach 0 and 1 before it")
	outDir := flag.String("o", "", "results directory (default bench/results in the module)")
	flag.Parse()
	if *runs == 0 {
		*runs = 6
		if *quick {
			*runs = 2
		}
	}
	if err := harness.Namespaces(); err != nil {
		fatal(err)
	}
	initd, err := harness.InitdBinary()
	if err != nil {
		fatal(err)
	}
	floor, early, err := harness.FloorBinaries()
	if err != nil {
		fatal(err)
	}
	subjects := []harness.Init{harness.InitdInit(initd), harness.FloorInit(floor), {Name: "floor-early", Path: early}}
	for _, p := range harness.Peers() {
		if len(p.Flags) == 0 {
			subjects = append(subjects, p)
		}
	}
	nb := int(*maxDelay / *step)
	hist := make(map[string][]tally)
	for _, s := range subjects {
		hist[s.Name] = make([]tally, nb+1)
	}
	load0 := loadAvg()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fatal(err)
	}
	// The wait and the kill run on one locked thread, as the benchmark's
	// start-up timing does, with no timer slack: the kernel would
	// otherwise add up to 50 µs to every sleep.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0); err != nil {
		fatal(err)
	}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()},
		Sys:   &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID},
	}
	k := 0
	for r := 0; r < *runs; r++ {
		fmt.Fprintf(os.Stderr, "firstms: pass %d of %d\n", r+1, *runs)
		for b := 0; b <= nb; b++ {
			d := time.Duration(b) * *step
			for j := range subjects {
				s := subjects[(j+k)%len(subjects)]
				at, code, err := once(s, d, attr)
				if err != nil {
					fatal(err)
				}
				i := min(int(at / *step), nb)
				t := &hist[s.Name][i]
				t.n++
				switch code {
				case lost:
					t.lost++
				case died:
					t.died++
				case forwarded:
					t.fwd++
				default:
					t.other++
				}
			}
			k++
		}
	}
	md := report(subjects, hist, *step, *runs, load0)
	os.Stdout.WriteString(md)
	defaultOut := false
	if *outDir == "" {
		root, err := harness.ModuleRoot()
		if err != nil {
			fatal(err)
		}
		*outDir = filepath.Join(root, "bench", "results")
		defaultOut = true
	}
	if err := os.WriteFile(filepath.Join(*outDir, "firstms.md"), []byte(md), 0o644); err != nil {
		fatal(err)
	}
	if defaultOut {
		if err := harness.UpdateDoc("firstms", md); err != nil {
			fatal(err)
		}
	}
}

// once runs INIT -- /bin/sleep 0.05 as PID 1 of a new PID namespace, sends
// SIGTERM d after ForkExec returned and returns when it was actually sent
// and the init's exit status.
func once(s harness.Init, d time.Duration, attr *syscall.ProcAttr) (time.Duration, int, error) {
	argv := s.Argv("/bin/sleep", "0.05")
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v", s.Name, err)
	}
	t0 := time.Now()
	if rest := d - spin - time.Since(t0); rest > 0 {
		ts := syscall.NsecToTimespec(int64(rest))
		syscall.Nanosleep(&ts, nil)
	}
	for time.Since(t0) < d {
	}
	syscall.Kill(pid, syscall.SIGTERM)
	at := time.Since(t0)
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	return at, harness.ExitCode(ws), nil
}

// report is a markdown summary: each init's windows, then the share of
// each outcome per delay bucket.
func report(subjects []harness.Init, hist map[string][]tally, step time.Duration, runs int, load0 string) string {
	var b strings.Builder
	var uname syscall.Utsname
	syscall.Uname(&uname)
	fmt.Fprintf(&b, "Measured %s on %d CPUs, Linux %s; %d passes over delays of 0 to %s in steps of %s (%d runs per init); load average %s at the start, %s at the end. Reproduce: `go run ./bench/firstms`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), utsString(uname.Release[:]), runs,
		time.Duration(len(hist[subjects[0].Name])-1)*step, step, runs*len(hist[subjects[0].Name]), load0, loadAvg())
	b.WriteString("| init | lost: µs after the exec until the signal is taken | exit 2: width of the window (µs) | exit 2: first and last delay seen (µs) | runs lost / exit 2 / forwarded / other |\n| --- | ---: | ---: | ---: | ---: |\n")
	us := float64(step) / 1e3
	for _, s := range subjects {
		var lostW, diedW float64
		var tot tally
		first, last := -1, -1
		for i, t := range hist[s.Name] {
			if t.n == 0 {
				continue
			}
			lostW += float64(t.lost) / float64(t.n) * us
			diedW += float64(t.died) / float64(t.n) * us
			if t.died > 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
			tot.lost += t.lost
			tot.died += t.died
			tot.fwd += t.fwd
			tot.other += t.other
		}
		seen := "–"
		if first >= 0 {
			seen = fmt.Sprintf("%.0f–%.0f", float64(first)*us, float64(last+1)*us)
		}
		fmt.Fprintf(&b, "| `%s` | %.0f | %.0f | %s | %d / %d / %d / %d |\n", s.Name, lostW, diedW, seen, tot.lost, tot.died, tot.fwd, tot.other)
	}
	b.WriteString("\nShares per delay bucket (lost, exit 2, forwarded; buckets with runs only):\n\n| delay (µs) |")
	for _, s := range subjects {
		fmt.Fprintf(&b, " `%s` |", s.Name)
	}
	b.WriteString("\n| ---: |")
	for range subjects {
		b.WriteString(" ---: |")
	}
	b.WriteString("\n")
	for i := range hist[subjects[0].Name] {
		row := fmt.Sprintf("| %.0f |", float64(i)*us)
		any := false
		for _, s := range subjects {
			t := hist[s.Name][i]
			if t.n == 0 {
				row += " |"
				continue
			}
			any = true
			row += fmt.Sprintf(" %d/%d/%d |", t.lost, t.died, t.fwd)
		}
		if any {
			b.WriteString(row + "\n")
		}
	}
	b.WriteString("\nLost: the integral over the delay of the share of runs whose signal was lost, that is the mean time after ForkExec returned until the init has a handler or has blocked the signal. Exit 2: the same for runs in which the Go runtime's default action killed the init, the width of the window between the runtime's handlers and the subscription. The last bucket holds every later delay.\n")
	return b.String()
}

func utsString(a []int8) string {
	var s []byte
	for _, c := range a {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "firstms:", err)
	os.Exit(1)
}
