// Package supervisor starts the child and runs initd's event loop: it
// receives signals, forwards them, reaps zombies and decides when initd
// exits.
//
// # One owner
//
// A single goroutine, the one that calls Run, does all waiting and all
// signalling. Because it reaps and signals in turn, a pid it signals has not
// been reaped, so it cannot have been reused; no locks are needed. Signals
// arrive through os/signal on two channels: SIGCHLD on one of capacity 1 (a
// pending value already means "reap", so a dropped duplicate loses
// nothing) and every other signal on a large buffer.
//
// # Lifecycle
//
// Every signal is subscribed before the child is spawned, so a child that
// exits at once is still reaped. When the main child exits and nothing else
// is left, Run returns its status at once. When others are left (orphans,
// daemons, the rest of the child's process group), they get SIGTERM, unless
// a terminating signal was already forwarded to them, then Grace to finish,
// then SIGKILL; Run returns the main child's status when the last is gone.
// As PID 1 "others" are every process of the PID namespace; otherwise they
// are the child's process group and initd's own children (orphans adopted
// as a subreaper), never anything outside initd's tree.
//
// While idle, Run blocks in a select with no timers; the two timers that
// exist (--kill-after and --grace) run only while a shutdown is under way.
//
// # Cost
//
// Each SIGCHLD and each forwarded signal crosses os/signal's hand-off
// (runtime handler, signal_recv goroutine, channel): about 60 us of CPU
// per reaped orphan or forwarded signal, some five times a C init's. A
// second goroutine blocking in waitid(WNOWAIT) on its own thread and
// reaping under a mutex skips the hand-off for orphans; measured side by
// side with bench/perf it cut the CPU per orphan by about a quarter (58 us
// against 77 us, 4.1x against 5.5x the best C peer), needed a second P so
// that signals are not stuck behind the blocked thread, added a thread,
// and did nothing for signals or start-up. One owner without locks was
// kept.
package supervisor

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/procfs"
	"github.com/initd/initd/internal/reaper"
	"github.com/initd/initd/internal/spawn"
)

// Options configure Run.
type Options struct {
	Argv        []string // the child's command; empty for Pause
	Env         []string // the child's environment
	SingleChild bool
	Rules       forward.Rules
	Grace       time.Duration
	KillAfter   time.Duration
	Pause       bool
	WarnReap    bool
	// ForwardURG is true when the Go runtime never sends SIGURG to itself,
	// so that every SIGURG initd receives came from outside.
	ForwardURG bool
	Log        *Log
}

type supervisor struct {
	*Options
	self   int
	pid1   bool
	child  forward.Target
	alive  bool // the main child has not been reaped
	status int  // the main child's exit code, once reaped

	termSent  bool            // a terminating signal reached the child's whole group
	killAfter <-chan struct{} // fires --kill-after after a terminating signal
	grace     <-chan struct{} // fires when the leftovers' grace is over
	leftovers bool            // the main child is gone, others are being waited for
	killing   bool            // grace is over: SIGKILL whatever is left
	// termed holds the leftovers sent SIGTERM one by one, so that a
	// process adopted later gets its own and none gets two.
	termed map[int]bool
}

// Run supervises the child until it and every other process initd is
// responsible for are gone, and returns the exit code initd should report.
// It returns early with an *ExecError's code if the child cannot start.
func Run(o *Options) int {
	s := &supervisor{Options: o, self: os.Getpid()}
	s.pid1 = s.self == 1
	if !s.pid1 {
		if err := reaper.SetSubreaper(); err != nil {
			s.Log.Error("cannot become a child subreaper, orphans will escape: ", err.Error())
		}
	}

	pin := pinThreads()
	chld := make(chan os.Signal, 1)
	sigs := make(chan os.Signal, 512)
	signal.Notify(chld, syscall.SIGCHLD)
	for n := syscall.Signal(1); n < forward.NSig; n++ {
		switch forward.ClassOf(n) {
		case forward.Forwarded, forward.Dropped, forward.Preempt:
			// A signal ignored when initd started (nohup, a background job)
			// stays ignored, so the child inherits SIG_IGN; Notify would
			// replace it with a handler that exec resets to the default.
			if !signal.Ignored(n) {
				signal.Notify(sigs, n)
			}
		}
	}

	if o.Pause {
		pin.restore()
		return s.pause(chld, sigs)
	}

	inherited := spawn.InheritedFDs()
	var pid int
	err := pin.spawn(func() (err error) { pid, _, err = spawn.Start(o.Argv, o.Env, false); return err })
	if err != nil {
		e := err.(*spawn.Error)
		s.Log.Error(e.Msg)
		return e.Code
	}
	s.child = forward.Target{Pid: pid, Group: !o.SingleChild}
	s.alive = true
	s.Log.Info("started ", o.Argv[0], " as pid ", itoa(pid))
	for _, fd := range inherited {
		syscall.Close(fd)
	}
	// Do not pin the mount the container was started in.
	syscall.Chdir("/")

	for {
		select {
		case <-chld:
			if done := s.reap(); done {
				return s.status
			}
		case sig := <-sigs:
			s.handle(sig.(syscall.Signal))
		case <-s.killAfter:
			s.killAfter = nil
			if s.alive {
				s.Log.Info("child still alive after --kill-after, sending SIGKILL")
				s.send(syscall.SIGKILL)
			}
		case <-s.grace:
			s.grace = nil
			s.Log.Info("grace period over, sending SIGKILL to what is left")
			s.killing = true
			s.signalLeftovers(syscall.SIGKILL, false)
		}
	}
}

// reap collects exited children and reports whether Run is done.
func (s *supervisor) reap() bool {
	exits, children := reaper.Reap(nil)
	for _, e := range exits {
		pid, ws := e.Pid, e.Status
		delete(s.termed, pid) // the pid may be reused from now on
		if s.alive && pid == s.child.Pid {
			s.alive, s.status = false, exitstatus.Of(ws)
			s.Log.Info("child exited with status ", itoa(s.status))
			s.killAfter = nil
			continue
		}
		if s.WarnReap {
			s.Log.Error("reaped zombie pid ", itoa(pid), " (status ", itoa(exitstatus.Of(ws)), ")")
		}
	}
	switch {
	case s.alive:
		return false
	case !children:
		return true
	case s.killing:
		// Orphans of the processes just killed were re-parented to initd
		// after the last sweep.
		s.signalLeftovers(syscall.SIGKILL, false)
	case s.leftovers:
		s.termAdopted()
	default:
		s.leftovers = true
		if s.Grace == 0 {
			return true
		}
		s.Log.Info("child gone, giving the remaining processes ", s.Grace.String())
		s.signalLeftovers(syscall.SIGTERM, s.termSent)
		s.grace = after(s.Grace)
	}
	return false
}

// handle forwards or drops one received signal.
func (s *supervisor) handle(sig syscall.Signal) {
	switch forward.ClassOf(sig) {
	case forward.Dropped:
		return
	case forward.Preempt:
		if !s.ForwardURG {
			return // most likely the runtime's own preemption signal
		}
	}
	if sig == syscall.SIGPIPE && s.Log.ownSIGPIPE() {
		return // raised by initd's own write to a closed stderr
	}
	out, ok := s.Rules.Apply(sig)
	if !ok {
		return // rewritten to 0
	}
	if !s.alive {
		// The main child is reaped; with --single-child its pid may be
		// reused, so everything goes to the leftovers instead.
		if s.leftovers && !s.killing {
			s.signalLeftovers(out, false)
		}
		return
	}
	s.Log.Debug("forwarding ", signame(out))
	s.send(out)
	if forward.Terminating(out) {
		s.termSent = s.termSent || s.child.Group
		if s.KillAfter > 0 && s.killAfter == nil {
			s.killAfter = after(s.KillAfter)
		}
	}
}

func (s *supervisor) send(sig syscall.Signal) {
	if err := s.child.Send(sig); err != nil {
		s.Log.Info("cannot send ", signame(sig), " to pid ", itoa(s.child.Pid), ": ", err.Error())
	}
}

// signalLeftovers sends sig to everything initd is responsible for besides
// the main child. skipGroup spares the child's process group, which already
// received a terminating signal.
func (s *supervisor) signalLeftovers(sig syscall.Signal, skipGroup bool) {
	if s.pid1 && !skipGroup {
		// kill(-1) from PID 1 reaches every other process of the namespace.
		syscall.Kill(-1, sig)
		return
	}
	if !s.pid1 && !skipGroup {
		syscall.Kill(-s.child.Pid, sig)
	}
	ps, ok := procfs.List(s.self)
	if !ok {
		return
	}
	for _, p := range ps {
		// The group was signalled as a whole, just now or before: a
		// second signal could run a trap twice.
		if p.Pgrp == s.child.Pid {
			continue
		}
		// Outside a PID namespace of its own, initd touches only its own
		// children: re-parented orphans, which cannot be reused while
		// unreaped.
		if s.pid1 || p.Ppid == s.self {
			s.kill(p.Pid, sig)
		}
	}
}

// termAdopted sends SIGTERM to children adopted since the leftovers were
// signalled: orphans whose parent was still alive at the sweep and exited
// later. As PID 1 there are none: the sweep reached every process of the
// namespace. An orphan whose dead parent was not initd's child is adopted
// without a SIGCHLD to initd; it is found at the next reap, or gets the
// SIGKILL at the end of the grace period.
func (s *supervisor) termAdopted() {
	if s.pid1 {
		return
	}
	ps, ok := procfs.List(s.self)
	if !ok {
		return
	}
	for _, p := range ps {
		if p.Ppid == s.self && p.Pgrp != s.child.Pid && !s.termed[p.Pid] {
			s.kill(p.Pid, syscall.SIGTERM)
		}
	}
}

// kill signals one leftover, remembering who got SIGTERM.
func (s *supervisor) kill(pid int, sig syscall.Signal) {
	syscall.Kill(pid, sig)
	if sig == syscall.SIGTERM {
		if s.termed == nil {
			s.termed = map[int]bool{}
		}
		s.termed[pid] = true
	}
}

// after delivers once d has passed. A nil channel blocks forever, so an
// unset timer costs nothing in the select. There are at most two timers
// per run, so a sleeping goroutine serves instead of time.Timer, whose
// channel of time.Time pulls time formatting and zone loading (about
// 40 kB) into the binary. A timer that is no longer wanted is dropped by
// setting its field to nil; its goroutine still ends after d.
func after(d time.Duration) <-chan struct{} {
	c := make(chan struct{}, 1)
	go func() {
		time.Sleep(d)
		c <- struct{}{}
	}()
	return c
}

// pause is Run without a child: reap, and exit 0 on SIGINT or SIGTERM.
func (s *supervisor) pause(chld, sigs chan os.Signal) int {
	for {
		select {
		case <-chld:
			exits, _ := reaper.Reap(nil)
			for _, e := range exits {
				if s.WarnReap {
					s.Log.Error("reaped zombie pid ", itoa(e.Pid), " (status ", itoa(exitstatus.Of(e.Status)), ")")
				}
			}
		case sig := <-sigs:
			if sig == syscall.SIGINT || sig == syscall.SIGTERM {
				return 0
			}
		}
	}
}
