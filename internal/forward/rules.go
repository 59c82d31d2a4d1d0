package forward

import (
	"errors"
	"syscall"
)

// Rules rewrite signals before they are forwarded. The zero value rewrites
// nothing. Rules are not safe for concurrent modification; initd builds them
// once before it starts the child.
type Rules struct {
	set [NSig]bool
	to  [NSig]syscall.Signal
}

// Set makes from be delivered as to; a to of 0 drops from. It refuses a
// from that initd never forwards, since such a rule could never apply:
// accepting it would let a user believe a signal reaches the child when it
// never does.
func (r *Rules) Set(from, to syscall.Signal) error {
	if from < 1 || from >= NSig || to < 0 || to >= NSig {
		return errors.New("signal numbers must be from 1 to 64")
	}
	if why := neverForwarded(from); why != "" {
		return errors.New(Name(from) + " is never forwarded (" + why + ")")
	}
	r.set[from], r.to[from] = true, to
	return nil
}

// neverForwarded says why initd never forwards sig, or "" if it may.
// SIGURG is not here: builds that keep the runtime from sending it
// forward it, and a rule for it applies there.
func neverForwarded(sig syscall.Signal) string {
	switch ClassOf(sig) {
	case Reap:
		return "initd uses it to reap children"
	case Dropped:
		return "initd drops it so that it cannot be stopped by the terminal"
	case Uncatchable:
		return "no process can catch it"
	case Runtime:
		return "the Go runtime keeps it, so initd never receives it"
	}
	return ""
}

// Apply returns the signal to deliver for sig; ok is false if sig is dropped.
func (r *Rules) Apply(sig syscall.Signal) (out syscall.Signal, ok bool) {
	if sig > 0 && sig < NSig && r.set[sig] {
		return r.to[sig], r.to[sig] != 0
	}
	return sig, true
}
