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
// are decided, for both sources.
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
	"github.com/initd/initd/internal/forward"
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
	log      *Log
	self     int
	target   forward.Target
	mainGone bool // the main child was collected: its pid may be reused
	timers   [lifecycle.NTimers]<-chan struct{}
	buf      []reaper.Exit

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
	s := &shell{log: o.Log, self: os.Getpid(), target: forward.Target{Pidfd: -1}}
	cfg := o.Lifecycle
	cfg.PID1 = s.self == 1
	if !cfg.PID1 {
		if err := reaper.SetSubreaper(); err != nil {
			s.log.Error("cannot become a child subreaper, orphans will escape: ", err.Error())
		}
	}
	mode, ok := chooseMode(o.Reap, cfg.WarnReap)
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
		err := sub.pin.spawn(func() (err error) {
			pid, pidfd, err = spawn.Start(o.Argv, o.Env, true)
			return err
		})
		if err != nil {
			e := err.(*spawn.Error)
			s.log.Error(e.Msg)
			return e.Code
		}
		child = pid
		s.target = forward.Target{Pid: pid, Pidfd: pidfd, Group: !cfg.SingleChild}
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
			ws, ok := reaper.ExitOf(s.target.Pid, s.target.Pidfd)
			if !ok {
				s.log.Error("lost the exit status of pid ", itoa(s.target.Pid))
				ws = syscall.WaitStatus(exitstatus.Setup << 8)
			}
			ev = s.collect(&reaper.Exit{Pid: s.target.Pid, Status: ws})
		case sig := <-sub.sigs:
			n := sig.(syscall.Signal)
			ev = lifecycle.Event{Kind: lifecycle.Signal, Sig: n}
		case <-s.timers[lifecycle.KillAfterTimer]:
			ev = lifecycle.Event{Kind: lifecycle.Timeout, Timer: lifecycle.KillAfterTimer}
		case <-s.timers[lifecycle.GraceTimer]:
			ev = lifecycle.Event{Kind: lifecycle.Timeout, Timer: lifecycle.GraceTimer}
		case <-s.timers[lifecycle.KillWaitTimer]:
			ev = lifecycle.Event{Kind: lifecycle.Timeout, Timer: lifecycle.KillWaitTimer}
		}
		if code, done := s.do(core.Step(ev)); done {
			return code
		}
	}
}

// chooseMode resolves Auto. -w has to see every zombie, so it means Wait.
// ok is false when Kernel was asked for and the kernel cannot do it.
func chooseMode(asked reaper.ReapMode, warnReap bool) (reaper.ReapMode, bool) {
	switch asked {
	case reaper.Wait:
		return reaper.Wait, true
	case reaper.Kernel:
		return reaper.Kernel, reaper.KernelReapSupported()
	}
	if !warnReap && reaper.KernelReapSupported() {
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
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	s.ignoreChildren()
	if s.ignored == nil {
		return
	}
	s.pidfile = f
	s.exited = make(chan struct{}, 1)
	go func() {
		// Read blocks on the netpoller, not in a system call, until the
		// pidfd is readable: the child has exited.
		rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(p, 0)
			return n > 0
		})
		s.exited <- struct{}{}
	}()
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
		if e.Pid == s.target.Pid && s.target.Pid != 0 {
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
	return lifecycle.Event{Kind: lifecycle.Exited, Exits: exits, Left: left}
}

// do carries out the core's actions. done is true at Exit.
func (s *shell) do(acts []lifecycle.Action) (code int, done bool) {
	for _, a := range acts {
		switch a.Kind {
		case lifecycle.Send:
			s.send(a)
		case lifecycle.Arm:
			s.timers[a.Timer] = after(a.After)
		case lifecycle.Disarm:
			s.timers[a.Timer] = nil
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
		t := s.target
		t.Group = false
		err, who = t.Send(a.Sig), "pid "+itoa(s.target.Pid)
	case lifecycle.Group:
		// Falling back to the child alone is right only while it is alive.
		if s.target.Group && !s.mainGone {
			err = s.target.Send(a.Sig)
		} else {
			err = s.target.SendGroup(a.Sig)
		}
		who = "process group " + itoa(s.target.Pid)
	case lifecycle.Everyone:
		err, who = syscall.Kill(-1, a.Sig), "every process"
	case lifecycle.Pid:
		err, who = syscall.Kill(a.Pid, a.Sig), "pid "+itoa(a.Pid)
	}
	if err != nil {
		s.log.Info("cannot send ", signame(a.Sig), " to ", who, ": ", err.Error())
	}
}

// after delivers once d has passed. A nil channel blocks forever, so an
// unset timer costs nothing in the select. There are at most three timers
// per run, so a sleeping goroutine serves instead of time.Timer, whose
// channel of time.Time pulls time formatting and zone loading (about
// 40 kB) into the binary. A timer that is no longer wanted is dropped by
// setting its channel to nil; its goroutine still ends after d.
func after(d time.Duration) <-chan struct{} {
	c := make(chan struct{}, 1)
	go func() {
		time.Sleep(d)
		c <- struct{}{}
	}()
	return c
}
