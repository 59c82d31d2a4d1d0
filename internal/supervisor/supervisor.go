// Package supervisor is the thin shell around package lifecycle: it starts
// the child, turns what the kernel reports into lifecycle events, and
// carries out the actions the core returns (signals, timers, the exit).
// Every decision is the core's; this package only does system calls.
//
// # One owner
//
// A single goroutine, the one that calls Run, does all waiting and all
// signalling. Because it reaps and signals in turn, a pid it signals has not
// been reaped, so it cannot have been reused; no locks are needed. Signals
// to the main child and its group go through its pidfd where the kernel has
// them, which stays right even after the kernel released the child.
//
// # Where exits come from
//
// Exits reach the loop from one of two sources, chosen at start (ReapMode):
//
//   - wait: SIGCHLD, then a wait4(-1, WNOHANG) loop (package reaper) that
//     collects every exited child and says whether any are left;
//   - kernel: SIGCHLD is ignored, so the kernel releases every child at
//     exit and no zombie ever exists; only the main child is heard of, when
//     its pidfd turns readable on Go's netpoller. Then the wait source takes
//     over for the drain: initd restores SIGCHLD and collects the leftovers
//     with the wait4 loop, so the shutdown rules are the same in both modes.
//     --pause stays in kernel mode for good.
//
// collect is the one place where "children exited" and "none are left"
// are decided, for both sources. As PID 1, once the main child is gone,
// "left" counts every other process of the namespace, not only initd's
// children: an exec session (docker exec, kubectl exec) lives in the
// namespace with a parent outside it, and the drain must wait for it as
// for the rest. initd waits for those through their pidfds, which turn
// readable on Go's netpoller when they exit; where pidfd_open fails it
// looks again every recheck.
//
// # Timers
//
// The core arms and disarms its timers; each armed one is a sleeping
// goroutine that reports on one channel, with the generation it was armed
// in, so that one disarmed or re-armed meanwhile is recognised and dropped.
//
// # Idle
//
// While idle, Run blocks in a select with no timers; the timers exist only
// while a shutdown is under way.
package supervisor

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/lifecycle"
	"github.com/initd/initd/internal/procfs"
	"github.com/initd/initd/internal/reaper"
	"github.com/initd/initd/internal/spawn"
)

// Options configure Run.
type Options struct {
	Argv []string // the child's command; empty with Lifecycle.Pause
	Env  []string // the child's environment
	// Lifecycle is the core's configuration; Run fills in PID1.
	Lifecycle lifecycle.Config
	Reap      reaper.ReapMode
	Log       *Log
}

type shell struct {
	log    *Log
	self   int
	pid1   bool
	target target
	// The main child was collected: from now on, as PID 1, "left"
	// includes the processes that are not initd's children.
	mainGone bool
	fired    chan fired
	gen      [lifecycle.NTimers]uint32
	buf      []reaper.Exit

	// Processes of the namespace that are not initd's children, watched
	// through their pidfds once the main child is gone (PID 1 only).
	strangers map[int]stranger
	gone      chan struct{} // a stranger's pidfd turned readable
	recheck   <-chan struct{}

	// kernel mode
	ignored *reaper.ChildSignal // SIGCHLD is ignored until Restore
	exited  chan struct{}       // the main child's pidfd turned readable
	pidfile *os.File            // keeps the pidfd open and on the netpoller
}

// Run supervises the child until it and every other process initd is
// responsible for are gone, and returns the exit status initd should
// report (before --remap-exit). It returns early with a spawn.Error's
// status if the child cannot start, and with exitstatus.Setup if the reap
// mode asked for is not available.
func Run(o *Options, sub *Subscription) int {
	s := &shell{log: o.Log, self: os.Getpid(), target: target{pidfd: -1}, fired: make(chan fired, 1)}
	cfg := o.Lifecycle
	cfg.PID1 = s.self == 1
	s.pid1 = cfg.PID1
	if !cfg.PID1 {
		if err := reaper.SetSubreaper(); err != nil {
			s.log.Error("cannot become a child subreaper, orphans will escape: ", err.Error())
		}
	}
	mode, ok := chooseMode(o.Reap, cfg.WarnReap, reaper.KernelReapSupported())
	if !ok {
		sub.pin.restore()
		s.log.Error("--reap=kernel: this kernel cannot report the exit of a child it released (needs Linux 6.15 or later with pidfds)")
		return exitstatus.Setup
	}

	child := 0
	if cfg.Pause {
		sub.pin.restore()
		if mode == reaper.Kernel {
			s.ignoreChildren()
		}
	} else {
		inherited := spawn.InheritedFDs()
		var pid, pidfd int
		var e *spawn.Error
		sub.pin.spawn(func() { pid, pidfd, e = spawn.Start(o.Argv, o.Env) })
		if e != nil {
			s.log.Error(e.Msg)
			return e.Code
		}
		child = pid
		s.target = target{pid: pid, pidfd: pidfd}
		s.log.Info("started ", o.Argv[0], " as pid ", itoa(pid))
		if mode == reaper.Kernel {
			s.watch(pidfd)
		}
		for _, fd := range inherited {
			syscall.Close(fd)
		}
		// Do not pin the mount the container was started in.
		syscall.Chdir("/")
	}

	// Kernel mode falls back to wait mode when it cannot start (no pidfd
	// for the child, SIGCHLD could not be ignored).
	if s.ignored != nil {
		s.log.Debug("reaping in kernel mode")
	} else {
		s.log.Debug("reaping in wait mode")
	}

	list := func() ([]procfs.Proc, bool) { return procfs.List(s.self) }
	core := lifecycle.New(cfg, s.self, child, list)
	// Zombies from before initd subscribed to SIGCHLD (orphans adopted in
	// its first moments, or the child itself) raised no SIGCHLD that initd
	// saw, and once SIGCHLD is ignored none will come: collect them now.
	if code, done := s.do(core.Step(s.collect(nil))); done {
		return code
	}
	for {
		var ev lifecycle.Event
		select {
		case <-sub.chld:
			ev = s.collect(nil)
		case <-s.exited:
			s.exited = nil
			ws, ok := reaper.ExitOf(s.target.pid, s.target.pidfd)
			ev = s.collect(&reaper.Exit{Pid: s.target.pid, Status: ws, Lost: !ok})
		case <-s.gone:
			ev = s.collect(nil)
		case <-s.recheck:
			s.recheck = nil
			ev = s.collect(nil)
		case sig := <-sub.sigs:
			n := sig.(syscall.Signal)
			ev = lifecycle.Event{Kind: lifecycle.Signal, Sig: n}
		case f := <-s.fired:
			if f.gen != s.gen[f.timer] {
				continue // disarmed or re-armed since
			}
			ev = lifecycle.Event{Kind: lifecycle.Timeout, Timer: f.timer}
		}
		if code, done := s.do(core.Step(ev)); done {
			return code
		}
	}
}

// chooseMode resolves Auto, given whether the kernel can report the exit
// of a child it released. -w has to see every zombie, so it means Wait.
// ok is false when Kernel was asked for and the kernel cannot do it.
func chooseMode(asked reaper.ReapMode, warnReap, supported bool) (reaper.ReapMode, bool) {
	switch asked {
	case reaper.Wait:
		return reaper.Wait, true
	case reaper.Kernel:
		return reaper.Kernel, supported
	}
	if !warnReap && supported {
		return reaper.Kernel, true
	}
	return reaper.Wait, true
}

// ignoreChildren switches to kernel reaping. Should the kernel refuse,
// initd stays in wait mode, which is always correct.
func (s *shell) ignoreChildren() {
	ign, err := reaper.IgnoreChildren()
	if err != nil {
		s.log.Info("cannot ignore SIGCHLD, reaping with wait4: ", err.Error())
		return
	}
	s.ignored = ign
}

// watch puts the main child's pidfd on the netpoller and switches to
// kernel reaping. A child that exits before SIGCHLD is ignored stays a
// zombie, and the pidfd is readable all the same.
func (s *shell) watch(pidfd int) {
	if pidfd < 0 || unix.SetNonblock(pidfd, true) != nil {
		return
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	s.ignoreChildren()
	if s.ignored == nil {
		return
	}
	s.pidfile = f
	s.exited = make(chan struct{}, 1)
	if !await(f, s.exited) {
		s.exited = nil
		s.ignored.Restore()
		s.ignored = nil
	}
}

// collect turns the children that exited into an Exited event: main, when
// the main child's pidfd reported it, goes first. In kernel mode this is
// where SIGCHLD comes back, so that the drain reaps with wait4 like the
// wait mode does.
func (s *shell) collect(main *reaper.Exit) lifecycle.Event {
	if main != nil && s.ignored != nil {
		if err := s.ignored.Restore(); err != nil {
			s.log.Error("cannot restore SIGCHLD: ", err.Error())
		}
		s.ignored = nil
	}
	exits, left := reaper.Reap(s.buf)
	if main != nil {
		exits = append(exits, reaper.Exit{})
		copy(exits[1:], exits)
		exits[0] = *main
	}
	s.buf = exits
	for _, e := range exits {
		if e.Pid == s.target.pid && s.target.pid != 0 {
			s.mainGone = true
			if s.exited != nil {
				// A SIGCHLD from before SIGCHLD was ignored reaped the
				// main child: the pidfd has nothing more to say.
				s.exited = nil
				s.ignored.Restore()
				s.ignored = nil
			}
		}
	}
	if !left && s.pid1 && s.mainGone {
		left = s.strangersLeft()
	}
	return lifecycle.Event{Kind: lifecycle.Exited, Exits: exits, Left: left}
}

// strangersLeft reports whether the namespace holds a process other than
// initd, which then cannot be initd's child (initd has none): it watches
// each one's pidfd so that its exit wakes the loop.
func (s *shell) strangersLeft() bool {
	if len(s.strangers) == 0 && syscall.Kill(-1, 0) == syscall.ESRCH {
		// No other process at all: spare the listing, which under a
		// host's /proc reads every process of the host.
		return false
	}
	ps, ok := procfs.List(s.self)
	if !ok {
		return false // nothing to wait for that initd could see
	}
	if s.strangers == nil {
		s.strangers = map[int]stranger{}
		s.gone = make(chan struct{}, 1)
	}
	seen := make(map[int]bool, len(ps))
	unwatched := false
	for _, p := range ps {
		seen[p.Pid] = true
		if _, ok := s.strangers[p.Pid]; ok {
			continue
		}
		fd, err := unix.PidfdOpen(p.Pid, unix.PIDFD_NONBLOCK)
		if err == unix.ESRCH {
			continue // gone already
		}
		if err != nil {
			unwatched = true // no pidfds here: look again soon
			continue
		}
		if readable(fd) {
			// Exited already, a zombie its parent outside has yet to
			// reap: nothing to wait for, and no watch to wake the loop
			// again and again.
			unix.Close(fd)
			continue
		}
		f := os.NewFile(uintptr(fd), "pidfd")
		if !await(f, s.gone) {
			f.Close()
			unwatched = true
			continue
		}
		s.strangers[p.Pid] = stranger{f, fd}
	}
	for pid, st := range s.strangers {
		if !seen[pid] || readable(st.fd) {
			st.f.Close()
			delete(s.strangers, pid)
		}
	}
	if unwatched && s.recheck == nil {
		s.recheck = sleep(recheck)
	}
	return len(s.strangers) > 0 || unwatched
}

// recheck is how often initd looks for the exit of processes it cannot
// watch through a pidfd.
const recheck = 50 * time.Millisecond

// stranger is a process of the namespace that is not initd's child, and
// its pidfd: f keeps it open and on the netpoller, fd is for poll(2).
type stranger struct {
	f  *os.File
	fd int
}

// readable reports whether a pidfd is readable: its process has exited.
func readable(pidfd int) bool {
	p := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, _ := unix.Poll(p, 0)
	return n > 0
}

// do carries out the core's actions. done is true at Exit.
func (s *shell) do(acts []lifecycle.Action) (code int, done bool) {
	for _, a := range acts {
		switch a.Kind {
		case lifecycle.Send:
			s.send(a)
		case lifecycle.Arm:
			s.gen[a.Timer]++
			s.arm(a.Timer, s.gen[a.Timer], a.After)
		case lifecycle.Disarm:
			s.gen[a.Timer]++
		case lifecycle.Log:
			switch a.Level {
			case 0:
				s.log.Error(a.Msg)
			case 1:
				s.log.Info(a.Msg)
			default:
				s.log.Debug(a.Msg)
			}
		case lifecycle.Exit:
			return a.Status, true
		}
	}
	return 0, false
}

// send delivers one signal. A failed kill (ESRCH for a process that just
// exited, EPERM under a restrictive seccomp or LSM) is logged at -v and
// never fatal.
func (s *shell) send(a lifecycle.Action) {
	var err error
	who := ""
	switch a.To {
	case lifecycle.Child:
		err, who = s.target.sendChild(a.Sig), "pid "+itoa(s.target.pid)
	case lifecycle.ChildGroup:
		err, who = s.target.sendChildGroup(a.Sig), "process group "+itoa(s.target.pid)
	case lifecycle.Group:
		err, who = s.target.sendGroup(a.Sig), "process group "+itoa(s.target.pid)
	case lifecycle.Everyone:
		err, who = syscall.Kill(-1, a.Sig), "every process"
	case lifecycle.Pid:
		err, who = syscall.Kill(a.Pid, a.Sig), "pid "+itoa(a.Pid)
	}
	if err != nil {
		s.log.Info("cannot send ", signame(a.Sig), " to ", who, ": ", err.Error())
	}
}

// fired is a timer's report.
type fired struct {
	timer lifecycle.Timer
	gen   uint32
}

// arm reports t, armed in generation gen, on s.fired once d has passed.
// There are at most four timers per run, so a sleeping goroutine serves
// instead of time.Timer, whose channel of time.Time pulls time formatting
// and zone loading (about 40 kB) into the binary. A timer that is no
// longer wanted still reports, with a generation that no longer counts.
func (s *shell) arm(t lifecycle.Timer, gen uint32, d time.Duration) {
	go func() {
		time.Sleep(d)
		s.fired <- fired{t, gen}
	}()
}

// sleep delivers once, after d.
func sleep(d time.Duration) <-chan struct{} {
	c := make(chan struct{}, 1)
	go func() {
		time.Sleep(d)
		c <- struct{}{}
	}()
	return c
}

// await reports on c, without blocking, when the pidfd behind f turns
// readable: its process has exited. The wait is on the netpoller, not in
// a system call.
func await(f *os.File, c chan<- struct{}) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	go func() {
		rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(p, 0)
			return n > 0
		})
		select {
		case c <- struct{}{}:
		default: // a report is pending already: one look serves both
		}
	}()
	return true
}
