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
// rewrite turns it into) also starts --kill-after.
//
// Draining: the main child has exited and others are left (orphans,
// daemons, the rest of its group). They get SIGTERM, then SIGCONT so that
// a stopped one can handle it, except those that initd already delivered
// a stop signal to, so that a trap does not run twice; then Grace to
// finish. A signal received meanwhile goes to them too, except a stop
// signal to a process that already got that same signal from initd.
//
// Killing: the grace period is over; whatever is left gets SIGKILL. As PID
// 1 initd exits at once (the kernel kills the rest of the namespace with
// it); otherwise it waits, at most KillWait, for them to be reaped.
//
// Pausing: --pause, no child. Exits 0 on a stop signal.
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
// # The shell's status
//
// A shell such as dash runs "sh -c ./app" by waiting for the app rather
// than exec'ing it, so a stop signal kills the shell (143) while the app
// handles it and exits with a status of its own. When the main child died
// of a stop signal that initd delivered to it and exactly one process of
// its group is then initd's own child (the command the shell was waiting
// for, re-parented to initd), initd reports that process's status instead,
// once it exits. ReportShell turns this off.
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
	Stop        forward.Set   // received signals that mean "stop"
	Policy      forward.Policy
	ReportShell bool // always report the main child's own status
	WarnReap    bool // log every reaped process that is not the main child
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
	Left  bool           // Exited: initd still has children
	Timer Timer          // Timeout
}

// Timer names one of initd's timers. Each is either armed or not.
type Timer uint8

const (
	KillAfterTimer Timer = iota // --kill-after, after a stop signal
	GraceTimer                  // --grace, after the main child exited
	KillWaitTimer               // KillWait, after the SIGKILL sweep
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
	Child    Whom = iota + 1 // the main child alone
	Group                    // the child's process group
	Everyone                 // every process of the namespace but initd: kill(-1)
	Pid                      // the process Pid
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
	app     int // the command a shell main child was waiting for, or 0
	appCode int
	appDone bool

	// Stop signals initd delivered: to the child (through its group or
	// alone), to its whole group, to everyone with kill(-1), and to single
	// leftovers. A stop signal is never sent twice to the same process
	// during the drain, and initd's own SIGTERM goes only to processes
	// that got none.
	childTold    forward.Set
	groupTold    forward.Set
	everyoneTold forward.Set
	told         map[int]forward.Set

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
		if c.cfg.Verbosity >= 2 {
			c.log(2, "forwarding "+forward.Name(out))
		}
		to := Group
		if c.cfg.SingleChild {
			to = Child
		}
		c.send(out, to, 0)
		if !stop {
			return
		}
		c.childTold.Add(out)
		if to == Group {
			c.groupTold.Add(out)
		}
		if c.cfg.KillAfter > 0 && !c.armed[KillAfterTimer] {
			c.arm(KillAfterTimer, c.cfg.KillAfter)
		}
	case Draining:
		if stop {
			c.others([]syscall.Signal{out}, forward.SetOf(out))
		} else {
			c.others([]syscall.Signal{out}, 0)
		}
	}
	// Killing: everything left is being killed.
}

func (c *Core) exited(exits []reaper.Exit, left bool) {
	var main *reaper.Exit
	for i, e := range exits {
		delete(c.told, e.Pid) // the pid may be reused from now on
		switch {
		case e.Pid == c.child:
			main = &exits[i]
		case e.Pid == c.app:
			c.appCode, c.appDone = exitstatus.Of(e.Status), true
		case c.cfg.WarnReap:
			c.log(0, "reaped zombie pid "+strconv.Itoa(e.Pid)+" (status "+strconv.Itoa(exitstatus.Of(e.Status))+")")
		}
	}
	if main != nil && c.phase == Running {
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
			c.others([]syscall.Signal{syscall.SIGKILL}, 0)
		} else if !c.cfg.PID1 {
			// Orphans adopted since the sweep: their parent was alive
			// then. As PID 1 the sweep reached every process.
			c.others([]syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}, ^forward.Set(0))
		}
	}
}

func (c *Core) mainExited(ws syscall.WaitStatus, left bool) {
	c.status = exitstatus.Of(ws)
	c.info("child exited with status " + strconv.Itoa(c.status))
	c.disarm(KillAfterTimer)
	if !left {
		c.exit(c.status)
		return
	}
	if !c.cfg.ReportShell && ws.Signaled() && c.childTold.Has(ws.Signal()) {
		c.app = c.shellCommand()
	}
	if c.cfg.Grace == 0 {
		c.kill()
		return
	}
	c.phase = Draining
	c.info("child gone, giving the remaining processes " + c.cfg.Grace.String())
	// A process told to stop already is handling it; a SIGTERM of
	// initd's own would run its trap a second time.
	c.others([]syscall.Signal{syscall.SIGTERM, syscall.SIGCONT}, ^forward.Set(0))
	c.arm(GraceTimer, c.cfg.Grace)
}

// shellCommand returns the one process of the child's group that is now
// initd's own child, or 0 when there is not exactly one.
func (c *Core) shellCommand() int {
	ps, ok := c.list()
	if !ok {
		return 0
	}
	found := 0
	for _, p := range ps {
		if p.Ppid == c.self && p.Pgrp == c.child {
			if found != 0 {
				return 0
			}
			found = p.Pid
		}
	}
	return found
}

func (c *Core) timeout(t Timer) {
	if !c.armed[t] {
		return
	}
	c.armed[t] = false
	switch {
	case t == KillAfterTimer && c.phase == Running:
		c.info("child still alive after --kill-after, sending SIGKILL")
		to := Group
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
		// PID 1 exits, and waits for them.
		c.send(syscall.SIGKILL, Everyone, 0)
		c.finish()
		return
	}
	if !c.others([]syscall.Signal{syscall.SIGKILL}, 0) {
		// initd cannot see its own children: it has reached what it can.
		c.finish()
		return
	}
	c.arm(KillWaitTimer, KillWait)
}

// others sends sigs, in order, to everything initd is responsible for
// besides the main child, skipping every process already told a stop
// signal in skip. sigs[0] is recorded as told if it is a stop signal or
// initd's own SIGTERM. It reports whether the leftovers outside the group
// could be listed.
func (c *Core) others(sigs []syscall.Signal, skip forward.Set) (listed bool) {
	first := sigs[0]
	record := first == syscall.SIGTERM || c.cfg.Stop.Has(first)
	var rec forward.Set
	if record {
		rec = forward.SetOf(first)
	}
	sendAll := func(to Whom, pid int) {
		for _, s := range sigs {
			c.send(s, to, pid)
		}
	}
	if c.cfg.PID1 {
		if c.everyoneTold&skip != 0 {
			return true
		}
		if skip == 0 || c.groupTold&skip == 0 && !c.anyTold(skip) {
			sendAll(Everyone, 0)
			c.everyoneTold |= rec
			c.groupTold |= rec
			return true
		}
	}
	if c.groupTold&skip == 0 {
		sendAll(Group, 0)
		c.groupTold |= rec
	}
	ps, ok := c.list()
	if !ok {
		return false
	}
	for _, p := range ps {
		if p.Pgrp == c.child || c.told[p.Pid]&skip != 0 {
			continue // the group was signalled as a whole
		}
		if !c.cfg.PID1 && p.Ppid != c.self {
			continue // outside a namespace of its own, only initd's children
		}
		sendAll(Pid, p.Pid)
		if record {
			if c.told == nil {
				c.told = map[int]forward.Set{}
			}
			c.told[p.Pid] |= rec
		}
	}
	return true
}

// anyTold reports whether a single leftover got a stop signal in skip.
func (c *Core) anyTold(skip forward.Set) bool {
	for _, t := range c.told {
		if t&skip != 0 {
			return true
		}
	}
	return false
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
