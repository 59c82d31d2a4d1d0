// Package lifecycle decides what initd does at each event of its life:
// which signal goes to whom, when a timer starts, when initd exits and
// with which status. It makes no system calls. The supervisor feeds it
// events (a signal received, children exited, a timer fired) and carries
// out the actions it returns, so that every rule below is a table test
// without root or namespaces.
//
// # Phases
//
// Running: the main child is alive. Every received signal that the policy
// delivers goes to the child's process group, or the child alone with
// SingleChild. A stop signal (Config.Stop, as received, whatever the
// rewrite turns it into) also starts --kill-after, which SIGKILLs what the
// stop signal went to: the group, or the child alone with SingleChild.
// With StopDelay, the first stop signal is held that long before it is
// forwarded (other signals go on as usual); a second stop signal is
// forwarded at once and ends the delay, and the main child's exit ends it
// too. --kill-after counts from the forward.
//
// Draining: the main child has exited and others are left (orphans,
// daemons, the rest of its group, an exec session). Those that initd has
// not told to stop get SIGTERM, then SIGCONT so that a stopped one can
// handle it; then Grace to finish. A signal received meanwhile goes to
// them too, except a stop signal to a process that already got that same
// signal from initd.
//
// Killing: the grace period is over; whatever is left gets SIGKILL. As PID
// 1 initd exits at once (the kernel kills the rest of the namespace with
// it); otherwise it waits, at most KillWait, for them to be reaped.
//
// Pausing: --pause, no child. Exits 0 on a stop signal, at once.
//
// # Who "the others" are
//
// As PID 1, every other process of the namespace: kill(-1) reaches exactly
// those. Otherwise the child's process group and initd's own children
// (orphans adopted as a subreaper), never anything outside initd's tree.
// Processes are told apart through the Lister; without one that works (no
// /proc of initd's namespace) initd still signals the group, and as PID 1
// everyone, but it cannot single out the processes outside the group that
// were not yet told to stop, and when not PID 1 it cannot reach them at
// all: they are left to initd's parent.
//
// # Who was told
//
// When initd delivers a stop signal, or SIGTERM under any name, it lists
// the processes first and records, per process (its pid and start time,
// so a reused pid is a new process), what it was sent. The record is what
// the process got, not where it is later: a helper that calls setsid()
// in its handler stays told. A process that ignores the signal it was
// sent (a POSIX shell's background job ignores SIGINT) has not been told.
// A process blocking it has: the signal waits for it, and signalfd and
// sigwait programs take their signals that way. A process that did not
// exist when initd delivered the first stop signal is cleanup that a trap
// started, in the group or out of it (setsid), and is never sent initd's
// SIGTERM. No process gets SIGTERM from initd twice, whatever the signal
// was called when initd received it. /proc shows ignored signals from 1
// to 31 only: a real-time stop signal counts as delivered.
//
// Without /proc at the moment of the delivery, the group counts as told as
// a whole and nothing counts as cleanup.
//
// # The shell's status
//
// A shell such as dash runs "sh -c ./app" by waiting for the app rather
// than exec'ing it, so a stop signal kills the shell (143) while the app
// handles it and exits with a status of its own. initd reports the app's
// status instead when all of this holds: the main child is a shell running
// a -c command string (Config.Shell), it was still that shell (not a
// command it exec'd) with exactly one child of its own when initd
// delivered the first stop signal (the command it was waiting for), it
// died of a stop signal initd delivered, and that same process (pid and
// start time) is still alive then. A shell caught between two commands,
// with none running, reports its own status. Once it exits its status is
// reported; if the grace period ends first it is SIGKILLed, 137. Anywhere
// else, initd reports the main child's own status. ReportShell turns the
// rule off.
package lifecycle

import (
	"strconv"
	"syscall"
	"time"

	"github.com/initd/initd/internal/exitstatus"
	"github.com/initd/initd/internal/forward"
	"github.com/initd/initd/internal/procfs"
	"github.com/initd/initd/internal/reaper"
)

// KillWait bounds the wait for SIGKILLed leftovers to be reaped, so that
// a process the kernel cannot kill at once (in uninterruptible sleep) does
// not hold initd forever.
const KillWait = time.Second

// Config is what the core needs to know of the command line.
type Config struct {
	Pause       bool // no child: reap until a stop signal
	PID1        bool // initd is PID 1 of its namespace
	SingleChild bool // forward to the child alone, not its group
	Grace       time.Duration
	KillAfter   time.Duration // 0 is off
	StopDelay   time.Duration // hold the first stop signal this long; 0 is off
	Stop        forward.Set   // received signals that mean "stop"
	Policy      forward.Policy
	Shell       string // the comm of a main child that is "sh -c COMMAND", else ""
	ReportShell bool   // always report the main child's own status
	WarnReap    bool   // log every reaped process that is not the main child
	Verbosity   int
}

// Phase is where in its life initd is.
type Phase uint8

const (
	Running Phase = iota
	Draining
	Killing
	Pausing
	Done
)

// EventKind says what happened.
type EventKind uint8

const (
	Signal  EventKind = iota + 1 // initd received Sig
	Exited                       // children were reaped
	Timeout                      // Timer fired
)

// Event is one thing that happened.
type Event struct {
	Kind  EventKind
	Sig   syscall.Signal // Signal: as received, before any rewrite
	Exits []reaper.Exit  // Exited: the children collected, in order
	// Exited: processes initd must still wait for are left: children of
	// its own and, as PID 1, any other process of the namespace.
	Left  bool
	Timer Timer // Timeout
}

// Timer names one of initd's timers. Each is either armed or not.
type Timer uint8

const (
	KillAfterTimer Timer = iota // --kill-after, after a stop signal
	GraceTimer                  // --grace, after the main child exited
	KillWaitTimer               // KillWait, after the SIGKILL sweep
	StopDelayTimer              // --stop-delay, after the first stop signal
	NTimers
)

// ActionKind says what the supervisor must do.
type ActionKind uint8

const (
	Send   ActionKind = iota + 1 // send Sig To
	Arm                          // start Timer, firing After from now
	Disarm                       // forget Timer
	Log                          // write Msg at Level (0 always, 1 -v, 2 -vv)
	Exit                         // exit with Status
)

// Whom is the addressee of a Send.
type Whom uint8

const (
	// Child is the main child alone. Only sent while it is unreaped.
	Child Whom = iota + 1
	// ChildGroup is the main child's process group while the child is
	// unreaped; should the group be empty (the child moved into another)
	// the child alone gets the signal rather than nobody.
	ChildGroup
	// Group is the process group the main child led, whether or not the
	// child is still alive.
	Group
	// Everyone is every process of the namespace but initd: kill(-1).
	Everyone
	// Pid is the process Pid, which the Lister showed a moment ago.
	Pid
)

// Action is one thing to do.
type Action struct {
	Kind   ActionKind
	Sig    syscall.Signal
	To     Whom
	Pid    int
	Timer  Timer
	After  time.Duration
	Level  int
	Msg    string
	Status int
}

// Lister lists the processes of initd's PID namespace other than initd,
// with ids in that namespace. ok is false when it cannot.
type Lister func() (ps []procfs.Proc, ok bool)

// mark is what initd sent one process, for as long as its pid names the
// process that started at start.
type mark struct {
	start  uint64
	got    forward.Set // the stop signals and SIGTERMs initd delivered to it
	before bool        // it existed when initd delivered the first stop signal
}

// Core holds initd's state. It is not safe for concurrent use: one
// goroutine, the one that reaps and signals, owns it.
type Core struct {
	cfg   Config
	self  int
	child int
	list  Lister
	phase Phase

	status  int // the main child's exit status, once it exited
	armed   [NTimers]bool
	held    syscall.Signal // the stop signal StopDelay holds, as delivered
	delayed bool           // StopDelay has been used: later stops go at once

	app      int // the command a shell main child was waiting for, or 0
	appStart uint64
	appCode  int
	appDone  bool

	// What initd delivered. marks is per process, from a listing at the
	// moment of delivery; stopped says a stop signal was delivered, and
	// stopListed that the processes of that moment are marked before, so
	// that every other one is cleanup. Without a listing initd knows less:
	// blindGroup holds what went to the whole group unlisted, everyone
	// what went to every process with kill(-1), and childTold what the
	// main child itself got.
	marks      map[int]mark
	stopped    bool
	stopListed bool
	blindGroup forward.Set
	everyone   forward.Set
	childTold  forward.Set

	out []Action
}

// New returns the core for a run whose main child is child (0 with
// Config.Pause), in which initd's own pid is self.
func New(cfg Config, self, child int, list Lister) *Core {
	c := &Core{cfg: cfg, self: self, child: child, list: list}
	if cfg.Pause {
		c.phase = Pausing
	}
	return c
}

// Step applies one event and returns the actions to carry out, in order.
// The slice is reused by the next call.
func (c *Core) Step(ev Event) []Action {
	c.out = c.out[:0]
	if c.phase == Done {
		return c.out
	}
	switch ev.Kind {
	case Signal:
		c.signal(ev.Sig)
	case Exited:
		c.exited(ev.Exits, ev.Left)
	case Timeout:
		c.timeout(ev.Timer)
	}
	return c.out
}

func (c *Core) signal(sig syscall.Signal) {
	stop := c.cfg.Stop.Has(sig)
	if c.phase == Pausing {
		if stop {
			c.info("received " + forward.Name(sig) + ", exiting")
			c.exit(0)
		}
		return
	}
	out, ok := c.cfg.Policy.Deliver(sig)
	if !ok {
		return
	}
	switch c.phase {
	case Running:
		if stop && c.cfg.StopDelay > 0 {
			if !c.delayed {
				c.delayed, c.held = true, out
				c.info("received " + forward.Name(sig) + ", forwarding it in " + c.cfg.StopDelay.String())
				c.arm(StopDelayTimer, c.cfg.StopDelay)
				return
			}
			if c.armed[StopDelayTimer] {
				// The operator insists: this one goes now, in place of
				// the one held.
				c.info("received " + forward.Name(sig) + " again, forwarding it now")
				c.disarm(StopDelayTimer)
				c.held = 0
			}
		}
		if c.cfg.Verbosity >= 2 {
			c.log(2, "forwarding "+forward.Name(out))
		}
		c.deliver(out, stop)
	case Draining:
		if stop {
			c.others([]syscall.Signal{out}, spareGot)
		} else {
			c.others([]syscall.Signal{out}, spareNone)
		}
	}
	// Killing: everything left is being killed.
}

// deliver sends out, a received signal after the rewrite, to the main
// child's group (or the child alone) while the child runs.
func (c *Core) deliver(out syscall.Signal, stop bool) {
	to := ChildGroup
	if c.cfg.SingleChild {
		to = Child
	}
	if stop || out == syscall.SIGTERM {
		c.record(out, to, stop)
	}
	c.send(out, to, 0)
	if !stop {
		return
	}
	c.childTold.Add(out)
	if c.cfg.KillAfter > 0 && !c.armed[KillAfterTimer] {
		c.arm(KillAfterTimer, c.cfg.KillAfter)
	}
}

// record lists the processes before out goes to the child or its group
// and marks the ones it will reach. At the first stop signal it also marks
// every process as existing before it, and finds the command a shell main
// child is waiting for.
func (c *Core) record(out syscall.Signal, to Whom, stop bool) {
	first := stop && !c.stopped
	if stop {
		c.stopped = true
	}
	ps, ok := c.list()
	if !ok {
		if to == ChildGroup {
			c.blindGroup.Add(out)
		}
		return
	}
	if first {
		c.stopListed = true
		if c.cfg.Shell != "" && !c.cfg.ReportShell {
			c.app = c.shellCommand(ps)
		}
	}
	for _, p := range ps {
		m := c.mark(p)
		if first {
			m.before = true
		}
		reached := p.Pid == c.child || to == ChildGroup && p.Pgrp == c.child
		if reached && !ignores(p, out) {
			m.got.Add(out)
		}
		c.setMark(p.Pid, m)
	}
}

// shellCommand returns the one child of a shell main child, or 0.
func (c *Core) shellCommand(ps []procfs.Proc) int {
	app, n, shell := 0, 0, false
	for _, p := range ps {
		switch {
		case p.Pid == c.child:
			shell = p.Comm == c.cfg.Shell
		case p.Ppid == c.child:
			n++
			app, c.appStart = p.Pid, p.Start
		}
	}
	if !shell || n != 1 {
		return 0
	}
	return app
}

// ignores reports whether p has SIG_IGN for sig, as far as /proc shows.
func ignores(p procfs.Proc, sig syscall.Signal) bool {
	return sig < 32 && p.Ignored&(1<<(sig-1)) != 0
}

// mark returns what initd recorded of p: nothing if its pid now names
// another process.
func (c *Core) mark(p procfs.Proc) mark {
	m, ok := c.marks[p.Pid]
	if !ok || m.start != p.Start {
		return mark{start: p.Start}
	}
	return m
}

func (c *Core) setMark(pid int, m mark) {
	if m.got == 0 && !m.before {
		delete(c.marks, pid)
		return
	}
	if c.marks == nil {
		c.marks = map[int]mark{}
	}
	c.marks[pid] = m
}

func (c *Core) exited(exits []reaper.Exit, left bool) {
	var main *reaper.Exit
	for i, e := range exits {
		delete(c.marks, e.Pid) // the pid may be reused from now on
		switch {
		case e.Pid == c.child:
			main = &exits[i]
		case e.Pid == c.app && c.phase != Running:
			c.appCode, c.appDone = exitstatus.Of(e.Status), true
		case c.cfg.WarnReap:
			c.log(0, "reaped zombie pid "+strconv.Itoa(e.Pid)+" (status "+strconv.Itoa(exitstatus.Of(e.Status))+")")
		}
	}
	if main != nil && c.phase == Running {
		if main.Lost {
			// Not the child's status: initd's own failure to learn it.
			c.log(0, "lost the exit status of pid "+strconv.Itoa(main.Pid))
			c.mainExited(syscall.WaitStatus(exitstatus.Setup<<8), left)
			return
		}
		c.mainExited(main.Status, left)
		return
	}
	switch c.phase {
	case Draining, Killing:
		if !left {
			c.finish()
			return
		}
		if c.phase == Killing {
			// Orphans of the processes just killed were re-parented to
			// initd after the last sweep.
			c.others([]syscall.Signal{syscall.SIGKILL}, spareNone)
		} else if !c.cfg.PID1 {
			// Orphans adopted since the sweep: their parent was alive
			// then. As PID 1 the sweep reached every process.
			c.others([]syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}, spareTold)
		}
	}
}

func (c *Core) mainExited(ws syscall.WaitStatus, left bool) {
	c.status = exitstatus.Of(ws)
	c.info("child exited with status " + strconv.Itoa(c.status))
	c.disarm(KillAfterTimer)
	c.disarm(StopDelayTimer)
	if !left {
		c.exit(c.status)
		return
	}
	if c.app != 0 && !(ws.Signaled() && c.childTold.Has(ws.Signal()) && c.appAlive()) {
		c.app = 0
	}
	if c.cfg.Grace == 0 {
		c.kill()
		return
	}
	c.phase = Draining
	c.info("child gone, giving the remaining processes " + c.cfg.Grace.String())
	c.others([]syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}, spareTold)
	c.arm(GraceTimer, c.cfg.Grace)
}

// appAlive reports whether the command the shell was waiting for is the
// same process still, now initd's child.
func (c *Core) appAlive() bool {
	ps, ok := c.list()
	if !ok {
		return false
	}
	for _, p := range ps {
		if p.Pid == c.app {
			return p.Start == c.appStart && p.Ppid == c.self
		}
	}
	return false
}

func (c *Core) timeout(t Timer) {
	if !c.armed[t] {
		return
	}
	c.armed[t] = false
	switch {
	case t == StopDelayTimer && c.phase == Running:
		out := c.held
		c.held = 0
		c.info("--stop-delay over, forwarding " + forward.Name(out))
		c.deliver(out, true)
	case t == KillAfterTimer && c.phase == Running:
		c.info("child still alive after --kill-after, sending SIGKILL")
		to := ChildGroup
		if c.cfg.SingleChild {
			to = Child
		}
		c.send(syscall.SIGKILL, to, 0)
	case t == GraceTimer && c.phase == Draining:
		c.kill()
	case t == KillWaitTimer && c.phase == Killing:
		c.info("leftovers not gone " + KillWait.String() + " after SIGKILL, exiting")
		c.finish()
	}
}

// kill ends the grace period: SIGKILL whatever is left.
func (c *Core) kill() {
	c.phase = Killing
	c.disarm(GraceTimer)
	c.info("sending SIGKILL to what is left")
	if c.cfg.PID1 {
		// The kernel kills every other process of the namespace when its
		// PID 1 exits, and waits for them; the command a shell was waiting
		// for dies of this SIGKILL too.
		c.send(syscall.SIGKILL, Everyone, 0)
		if c.app != 0 && !c.appDone {
			c.appCode, c.appDone = exitstatus.Of(syscall.WaitStatus(syscall.SIGKILL)), true
		}
		c.finish()
		return
	}
	if !c.others([]syscall.Signal{syscall.SIGKILL}, spareNone) {
		// initd cannot see its own children: it has reached what it can.
		c.finish()
		return
	}
	c.arm(KillWaitTimer, KillWait)
}

// spare says which processes a sweep leaves out.
type spare uint8

const (
	spareNone spare = iota // a signal that is not a stop, or SIGKILL: everyone
	spareGot               // a stop signal: not those that got it from initd
	spareTold              // initd's own SIGTERM: not the told, not cleanup
)

// others sends sigs, in order, to everything initd is responsible for
// besides the main child, leaving out what how spares. sigs[0] is recorded
// as delivered if it is SIGTERM or how is spareGot (a stop signal). It
// reports whether the processes could be listed.
func (c *Core) others(sigs []syscall.Signal, how spare) (listed bool) {
	first := sigs[0]
	record := first == syscall.SIGTERM || how == spareGot
	sendAll := func(to Whom, pid int) {
		for _, s := range sigs {
			c.send(s, to, pid)
		}
	}
	if how == spareGot && c.everyone.Has(first) {
		return true // every process had it already
	}
	// Nobody to spare: kill(-1), or the group as a whole, reaches even a
	// process forked while initd sends.
	whole := c.nobodySpared(how, first)
	if whole && c.cfg.PID1 {
		sendAll(Everyone, 0)
		if record {
			c.everyone.Add(first)
		}
		return true
	}
	ps, ok := c.list()
	if !ok {
		// Only the group can be told apart from the rest: it is sent the
		// signal unless it counts as having had it.
		var spared bool
		switch how {
		case spareGot:
			spared = c.blindGroup.Has(first) || c.stopListed
		case spareTold:
			spared = c.blindGroup != 0 || c.stopListed
		}
		if !spared {
			sendAll(Group, 0)
			if record {
				c.blindGroup.Add(first)
			}
		}
		return false
	}
	if whole {
		sendAll(Group, 0)
	}
	for _, p := range ps {
		inGroup := p.Pgrp == c.child
		if !c.cfg.PID1 && !inGroup && p.Ppid != c.self {
			continue // outside a namespace of its own, only initd's tree
		}
		m := c.mark(p)
		if whole && inGroup {
			if record {
				m.got.Add(first)
				c.setMark(p.Pid, m)
			}
			continue // the group was signalled as a whole
		}
		switch how {
		case spareGot:
			if m.got.Has(first) || inGroup && c.blindGroup.Has(first) {
				continue
			}
		case spareTold:
			if m.got != 0 || inGroup && c.blindGroup != 0 {
				continue
			}
			if c.stopListed && !m.before {
				continue // cleanup that a trap started after the stop
			}
		}
		sendAll(Pid, p.Pid)
		if record {
			m.got.Add(first)
			c.setMark(p.Pid, m)
		}
	}
	return true
}

// nobodySpared reports whether a sweep of sig spares no process, so that
// kill(-1) can reach them all at once.
func (c *Core) nobodySpared(how spare, sig syscall.Signal) bool {
	switch how {
	case spareGot:
		if c.blindGroup.Has(sig) {
			return false
		}
		for _, m := range c.marks {
			if m.got.Has(sig) {
				return false
			}
		}
	case spareTold:
		if c.stopped || c.blindGroup != 0 || c.everyone != 0 {
			return false
		}
		for _, m := range c.marks {
			if m.got != 0 {
				return false
			}
		}
	}
	return true
}

// finish exits with the main child's status, or the status of the command
// a shell main child was waiting for.
func (c *Core) finish() {
	if c.app != 0 && c.appDone {
		c.info("reporting status " + strconv.Itoa(c.appCode) + " of pid " + strconv.Itoa(c.app) + ", the command the shell was running")
		c.exit(c.appCode)
		return
	}
	c.exit(c.status)
}

func (c *Core) exit(status int) {
	for t := range NTimers {
		c.disarm(t)
	}
	c.phase = Done
	c.out = append(c.out, Action{Kind: Exit, Status: status})
}

func (c *Core) send(sig syscall.Signal, to Whom, pid int) {
	c.out = append(c.out, Action{Kind: Send, Sig: sig, To: to, Pid: pid})
}

func (c *Core) arm(t Timer, d time.Duration) {
	c.armed[t] = true
	c.out = append(c.out, Action{Kind: Arm, Timer: t, After: d})
}

func (c *Core) disarm(t Timer) {
	if c.armed[t] {
		c.armed[t] = false
		c.out = append(c.out, Action{Kind: Disarm, Timer: t})
	}
}

func (c *Core) info(msg string) {
	if c.cfg.Verbosity >= 1 {
		c.log(1, msg)
	}
}

func (c *Core) log(level int, msg string) {
	c.out = append(c.out, Action{Kind: Log, Level: level, Msg: msg})
}
