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
// from that initd can never receive, since such a rule could never apply.
func (r *Rules) Set(from, to syscall.Signal) error {
	if from < 1 || from >= NSig || to < 0 || to >= NSig {
		return errors.New("signal numbers must be from 1 to 64")
	}
	switch ClassOf(from) {
	case Uncatchable, Runtime:
		return errors.New("cannot rewrite " + Name(from) + ": initd never receives it")
	case Reap:
		return errors.New("cannot rewrite " + Name(from) + ": initd uses it to reap children")
	}
	r.set[from], r.to[from] = true, to
	return nil
}

// Apply returns the signal to deliver for sig; ok is false if sig is dropped.
func (r *Rules) Apply(sig syscall.Signal) (out syscall.Signal, ok bool) {
	if sig > 0 && sig < NSig && r.set[sig] {
		return r.to[sig], r.to[sig] != 0
	}
	return sig, true
}
