// Package subscribe holds the floor's signal subscription. It imports
// nothing but os/signal and syscall, so that the early build can subscribe
// in this package's init, which the runtime runs right after os/signal's:
// as early as a Go program can ask for a signal.
package subscribe

import (
	"os"
	"os/signal"
	"syscall"
)

// Subscription is what the floor receives: SIGCHLD alone on a channel of
// capacity 1 (one pending value already means "reap"), every other signal
// on a buffer, as initd has them.
type Subscription struct {
	Chld, Sigs chan os.Signal
}

// Early is the subscription made in this package's init in the early
// build, nil otherwise.
var Early *Subscription

// Now subscribes to every signal initd subscribes to: all but SIGKILL and
// SIGSTOP, which nobody can catch, and SIGPROF and 32 to 34, which the Go
// runtime keeps to itself. TERM and INT go first, so that a stop signal is
// taken from the earliest moment; each further new signal is a hand-off
// with the runtime's signal-mask thread.
func Now() *Subscription {
	s := &Subscription{Chld: make(chan os.Signal, 1), Sigs: make(chan os.Signal, 512)}
	signal.Notify(s.Sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Notify(s.Chld, syscall.SIGCHLD)
	signal.Notify(s.Sigs, Forwarded()...)
	return s
}

// Forwarded lists the signals the floor forwards, TERM and INT included.
func Forwarded() []os.Signal {
	var sigs []os.Signal
	for n := syscall.Signal(1); n <= 64; n++ {
		switch n {
		case syscall.SIGCHLD, syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGPROF, 32, 33, 34:
			continue
		}
		sigs = append(sigs, n)
	}
	return sigs
}
