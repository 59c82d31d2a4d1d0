package supervisor

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/initd/initd/internal/forward"
)

// Subscription holds every signal initd receives, from the moment Subscribe
// returns: SIGCHLD on a channel of capacity 1 (a pending value already means
// "reap", so a dropped duplicate loses nothing) and every other signal on a
// large buffer, in the order os/signal delivers them.
//
// Signals that arrive before Run starts the child wait in the buffer and
// are forwarded right after the spawn, so a "docker stop" in the first
// millisecond reaches the child instead of being lost. The Go runtime
// handles signals from before main, and one that arrives before Subscribe
// is handled as the runtime does for a program that asked for nothing: a
// stop signal makes initd exit 2 without a child, or, as PID 1 where the
// kernel refuses the default action, without a word. Subscribe is
// therefore the first thing main does.
type Subscription struct {
	chld chan os.Signal
	sigs chan os.Signal
	pin  cpuPin
}

// Subscribe subscribes to every signal initd can receive, except those it
// was started with ignored: a signal ignored under nohup or in a background
// job stays ignored so that the child inherits SIG_IGN; Notify would
// replace it with a handler that exec resets to the default action.
//
// Subscribe also sets GOMAXPROCS to 1, for the life of the process: one P
// is all a single event loop needs, it keeps GOMAXPROCS from the
// environment (which belongs to the app) out of initd, and it stops the
// runtime's periodic cgroup re-reads. It is set right after the stop
// signals are subscribed and before the other 56. Made after all of them,
// the stop-the-world that resizes the Ps left about 100 KiB of the
// runtime's span sets behind (anonymous RSS, median of 20 starts: 904 KiB
// against 740 KiB); made before the stop signals, it would widen the
// window in which a SIGTERM kills initd with status 2.
func Subscribe() *Subscription {
	s := &Subscription{
		chld: make(chan os.Signal, 1),
		sigs: make(chan os.Signal, 512),
	}
	// Each Notify of a new signal costs a hand-off with the runtime's
	// signal thread, some 10 us: the stop signals go first.
	notify := func(n syscall.Signal) {
		if !signal.Ignored(n) {
			signal.Notify(s.sigs, n)
		}
	}
	notify(syscall.SIGTERM)
	notify(syscall.SIGINT)
	runtime.GOMAXPROCS(1)
	s.pin = pinThreads()
	signal.Notify(s.chld, syscall.SIGCHLD)
	for n := syscall.Signal(1); n < forward.NSig; n++ {
		switch forward.ClassOf(n) {
		case forward.Forwarded, forward.Dropped, forward.Preempt:
			if n != syscall.SIGTERM && n != syscall.SIGINT {
				notify(n)
			}
		}
	}
	return s
}
