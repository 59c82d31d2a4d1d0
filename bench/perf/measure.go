package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/initd/initd/bench/internal/harness"
)

// startup times fork, exec and wait of INIT -- /bin/true, n times per
// subject, interleaved: iteration k runs every subject once, starting at a
// different one each time, so drifts in machine load hit all alike. The
// timing is done on one locked thread with raw ForkExec and Wait4 to keep
// the bench's own cost small and constant.
//
// In mode PID1Proc the init is PID 1 with a /proc of its own, as in a
// container: the bench's mountproc helper (a Go binary) mounts it and execs
// the init, and the direct run pays for the same helper, so the overhead
// over it is the init's alone.
func startup(subjects []harness.Init, n int, mode harness.Mode) map[string][]float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sys := &syscall.SysProcAttr{}
	switch mode {
	case harness.PID1:
		sys.Cloneflags = syscall.CLONE_NEWPID
	case harness.PID1Proc:
		sys.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
	}
	self, _ := os.Executable()
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()}, Sys: sys}
	out := map[string][]float64{}
	for k := 0; k < n; k++ {
		for j := range subjects {
			s := subjects[(j+k)%len(subjects)]
			argv := s.Argv("/bin/true")
			if mode == harness.PID1Proc {
				argv = append([]string{self, harness.HelperArg, "mountproc"}, argv...)
			}
			t0 := time.Now()
			pid, err := syscall.ForkExec(argv[0], argv, attr)
			if err != nil {
				continue
			}
			var ws syscall.WaitStatus
			for {
				if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
					break
				}
			}
			out[s.Name] = append(out[s.Name], float64(time.Since(t0).Nanoseconds()))
		}
	}
	return out
}

// roundTrip starts every subject with an acker child (PID 1 of its own
// namespace) and sends SIGUSR1 to the init, one signal in flight at a time,
// waiting for the acker's byte on a FIFO; subjects take turns signal by
// signal. It returns the latencies and the init's CPU time per forwarded
// signal (scheduler run time of all its threads over the loop).
func roundTrip(dir string, subjects []harness.Init, n int) (lat map[string][]float64, cpu map[string]float64, err error) {
	type rt struct {
		s    harness.Init
		p    *harness.Proc
		fifo *os.File
		u0   harness.Usage
	}
	var rts []*rt
	defer func() {
		for _, r := range rts {
			r.p.Kill()
			r.fifo.Close()
		}
	}()
	for i, s := range subjects {
		path := filepath.Join(dir, "ack"+strconv.Itoa(i))
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return nil, nil, err
		}
		// O_RDWR never blocks and never sees EOF, whenever the acker
		// opens or closes its end.
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, nil, err
		}
		p, err := harness.Start(s.Argv(harness.Helper("acker", path)...), harness.Options{Mode: harness.PID1})
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		r := &rt{s: s, p: p, fifo: f}
		rts = append(rts, r)
		if err := readByte(f, 5*time.Second); err != nil {
			return nil, nil, errors.New(s.Name + ": acker not ready: " + err.Error())
		}
	}
	time.Sleep(50 * time.Millisecond)
	for _, r := range rts {
		r.u0, _ = harness.ReadUsage(r.p.Pid)
	}
	lat = map[string][]float64{}
	for k := 0; k < n; k++ {
		for j := range rts {
			r := rts[(j+k)%len(rts)]
			t0 := time.Now()
			r.p.Signal(syscall.SIGUSR1)
			if err := readByte(r.fifo, 2*time.Second); err != nil {
				return nil, nil, errors.New(r.s.Name + ": signal lost: " + err.Error())
			}
			lat[r.s.Name] = append(lat[r.s.Name], float64(time.Since(t0).Nanoseconds()))
		}
	}
	cpu = map[string]float64{}
	for _, r := range rts {
		u, _ := harness.ReadUsage(r.p.Pid)
		cpu[r.s.Name] = float64(u.CPUNs-r.u0.CPUNs) / float64(n)
	}
	return lat, cpu, nil
}

func readByte(f *os.File, d time.Duration) error {
	f.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := f.Read(b[:])
	return err
}

// orphanResult is one init's reaping of n orphans.
type orphanResult struct {
	CPUPerOrphan float64 // ns
	PeakZombies  int
	Wall         float64 // ns from go to the last zombie reaped
}

// orphans runs INIT -- helper orphans N as PID 1 of a new namespace. The
// helper double-forks n short-lived orphans, which the namespace's PID 1
// must reap. The init's CPU is read once the helper runs (start-up done)
// and again when no zombie is left; a sampler counts the init's unreaped
// children meanwhile. The sampler scans /proc every 2 ms on the other core,
// so the peak is a lower bound.
func orphans(dir string, s harness.Init, n int) (orphanResult, error) {
	var res orphanResult
	ctl := filepath.Join(dir, "ctl-"+s.Name)
	done := filepath.Join(dir, "done-"+s.Name)
	os.Remove(ctl)
	os.Remove(done)
	if err := syscall.Mkfifo(ctl, 0o600); err != nil {
		return res, err
	}
	f, err := os.OpenFile(ctl, os.O_RDWR, 0)
	if err != nil {
		return res, err
	}
	defer f.Close()
	p, err := harness.Start(s.Argv(harness.Helper("orphans", strconv.Itoa(n), done, ctl)...), harness.Options{Mode: harness.PID1})
	if err != nil {
		return res, err
	}
	defer p.Kill()
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15]
	}
	if !harness.Poll(5*time.Second, time.Millisecond, func() bool { return harness.ChildExeced(p.Pid, self) }) {
		return res, errors.New(s.Name + ": orphan maker did not start")
	}
	time.Sleep(50 * time.Millisecond)
	u0, _ := harness.ReadUsage(p.Pid)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if z := int64(harness.Zombies(p.Pid)); z > peak.Load() {
				peak.Store(z)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t0 := time.Now()
	f.Write([]byte{'g'})
	ok := harness.Poll(120*time.Second, time.Millisecond, func() bool {
		_, err := os.Stat(done)
		return err == nil
	})
	if ok {
		ok = harness.Poll(30*time.Second, time.Millisecond, func() bool { return harness.Zombies(p.Pid) == 0 })
	}
	res.Wall = float64(time.Since(t0).Nanoseconds())
	close(stop)
	<-sampled
	if !ok {
		return res, errors.New(s.Name + ": orphans not reaped in time")
	}
	u1, _ := harness.ReadUsage(p.Pid)
	res.CPUPerOrphan = float64(u1.CPUNs-u0.CPUNs) / float64(n)
	res.PeakZombies = int(peak.Load())
	return res, nil
}

// shutdown times SIGTERM to the init (PID 1 of a new namespace, child
// /bin/sleep) until the init has been reaped, n times per subject,
// interleaved. With ownProc the init has a /proc of its own namespace, as
// in a container (and the direct run a mount namespace with its own /proc
// mount, so that both pay for tearing one down); without, it sees the
// bench's /proc. The direct run is sleep on its own, not as PID 1: as PID 1
// sleep would ignore SIGTERM, having no handler.
func shutdown(subjects []harness.Init, n int, ownProc bool) map[string][]float64 {
	out := map[string][]float64{}
	for k := 0; k < n; k++ {
		for j := range subjects {
			s := subjects[(j+k)%len(subjects)]
			mode := harness.PID1
			switch {
			case s.IsDirect() && ownProc:
				mode = harness.PlainProc
			case s.IsDirect():
				mode = harness.Plain
			case ownProc:
				mode = harness.PID1Proc
			}
			p, err := harness.Start(s.Argv("/bin/sleep", "1000"), harness.Options{Mode: mode})
			if err != nil {
				continue
			}
			started := harness.Poll(5*time.Second, 200*time.Microsecond, func() bool {
				if s.IsDirect() {
					st, ok := harness.ReadStat(p.Pid)
					return ok && st.Comm == "sleep"
				}
				return harness.ChildExeced(p.Pid, "sleep")
			})
			if !started {
				p.Kill()
				continue
			}
			// The init's set-up after spawning (initd closes descriptors and
			// changes directory) must be over, or shutdown would include it:
			// wait until its CPU time has stood still for a millisecond.
			settle(p.Pid)
			t0 := time.Now()
			p.Signal(syscall.SIGTERM)
			if _, ok := p.WaitTimeout(10 * time.Second); !ok {
				p.Kill()
				continue
			}
			out[s.Name] = append(out[s.Name], float64(p.Ended().Sub(t0).Nanoseconds()))
		}
	}
	return out
}

// settle waits (at least 2 ms, at most 100 ms) until pid's threads have
// used no CPU for a millisecond.
func settle(pid int) {
	time.Sleep(time.Millisecond)
	last, _ := harness.ReadUsage(pid)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		time.Sleep(time.Millisecond)
		u, _ := harness.ReadUsage(pid)
		if u.CPUNs == last.CPUNs {
			return
		}
		last = u
	}
}

var lackeyRe = regexp.MustCompile(`guest instrs:\s+([\d,]+)`)

// instructions counts the instructions the init itself executes for
// INIT -- /bin/true under valgrind's lackey tool (the child is not
// traced). Callgrind would be the usual tool, but it aborts on the Go
// runtime's signal handling (an assertion in its signal tracking), and
// hardware counters (perf stat) are not exposed in this VM; lackey counts
// every guest instruction and works for all.
func instructions(s harness.Init) (float64, error) {
	vg, err := exec.LookPath("valgrind")
	if err != nil {
		return 0, errors.New("valgrind not installed")
	}
	args := append([]string{"--tool=lackey", "--trace-children=no"}, s.Argv("/bin/true")...)
	cmd := exec.Command(vg, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var count float64 = -1
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := lackeyRe.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(regexp.MustCompile(`,`).ReplaceAllString(m[1], ""), 64)
			count = v
		}
	}
	cmd.Wait()
	if count < 0 {
		return 0, errors.New(s.Name + ": no count from valgrind")
	}
	return count, nil
}

// memory starts every subject n times with /bin/sleep as child (PID 1 of a
// new namespace; the direct run plainly), one round at a time, and reads
// each one's memory and threads a second after its start. How many
// threads the Go runtime makes, and so how many stacks it touches, depends
// on how its threads met during start-up, which the machine's load decides:
// one sample per subject could land anywhere in that spread, so the rows
// are medians of n per run, taken in turns like every other row.
func memory(subjects []harness.Init, n int) map[string][]harness.Memory {
	out := map[string][]harness.Memory{}
	for k := 0; k < n; k++ {
		var procs []*harness.Proc
		var names []string
		for j := range subjects {
			s := subjects[(j+k)%len(subjects)]
			mode := harness.PID1
			if s.IsDirect() {
				mode = harness.Plain
			}
			p, err := harness.Start(s.Argv("/bin/sleep", "1000"), harness.Options{Mode: mode})
			if err != nil {
				continue
			}
			procs = append(procs, p)
			names = append(names, s.Name)
			// Apart, so that their start-ups do not meet.
			time.Sleep(20 * time.Millisecond)
		}
		// Let start-up settle (Go's monitor thread backs off over the
		// first tens of milliseconds): read the last one a second after
		// its start.
		time.Sleep(time.Second)
		for i, p := range procs {
			if m, ok := harness.ReadMemory(p.Pid); ok {
				out[names[i]] = append(out[names[i]], m)
			}
			p.Kill()
		}
	}
	return out
}

// idle is a set of inits left alone with /bin/sleep as child, read at the
// start and end of the whole benchmark: wake-ups do not depend on load
// elsewhere, so they can run beside the rest.
type idle struct {
	procs []*harness.Proc
	u0    []harness.Usage
	t0    time.Time
}

func startIdle(subjects []harness.Init) (*idle, error) {
	id := &idle{}
	for _, s := range subjects {
		mode := harness.PID1
		if s.IsDirect() {
			mode = harness.Plain
		}
		p, err := harness.Start(s.Argv("/bin/sleep", "100000"), harness.Options{Mode: mode})
		if err != nil {
			id.stop()
			return nil, err
		}
		id.procs = append(id.procs, p)
	}
	// Let start-up settle (Go's monitor thread backs off over the first
	// tens of milliseconds) before the window opens.
	time.Sleep(time.Second)
	for _, p := range id.procs {
		u, _ := harness.ReadUsage(p.Pid)
		id.u0 = append(id.u0, u)
	}
	id.t0 = time.Now()
	return id, nil
}

// wakeups returns context switches per minute for each subject, all and
// voluntary only.
func (id *idle) wakeups() (all, vol []float64, d time.Duration) {
	d = time.Since(id.t0)
	for i, p := range id.procs {
		u, _ := harness.ReadUsage(p.Pid)
		all = append(all, float64(u.Switches-id.u0[i].Switches)/d.Minutes())
		vol = append(vol, float64(u.Voluntary-id.u0[i].Voluntary)/d.Minutes())
	}
	return all, vol, d
}

func (id *idle) stop() {
	for _, p := range id.procs {
		p.Kill()
	}
}
