package forward

import "syscall"

// Set is a set of signals 1 to 64. The zero value is empty.
type Set uint64

// SetOf returns the set of sigs.
func SetOf(sigs ...syscall.Signal) Set {
	var s Set
	for _, sig := range sigs {
		s.Add(sig)
	}
	return s
}

// Add puts sig in the set; numbers outside 1 to 64 are ignored.
func (s *Set) Add(sig syscall.Signal) {
	if sig > 0 && sig < NSig {
		*s |= 1 << (sig - 1)
	}
}

// Has reports whether sig is in the set.
func (s Set) Has(sig syscall.Signal) bool {
	return sig > 0 && sig < NSig && s&(1<<(sig-1)) != 0
}

// DefaultStop is the set of stop signals unless configured otherwise: the
// signals "docker stop", "kubectl delete pod" and Ctrl-C send. Only a stop
// signal starts --kill-after and counts as telling a process to stop, so
// that initd does not send it a SIGTERM of its own afterwards. HUP (reload)
// and QUIT (a thread dump in the JVM) are not stop signals by default; an
// image whose STOPSIGNAL is another signal (nginx: QUIT) names its own.
var DefaultStop = SetOf(syscall.SIGTERM, syscall.SIGINT)

// Policy decides what initd delivers for each signal it receives. The zero
// value forwards every forwardable signal unchanged and drops SIGURG.
type Policy struct {
	Rules Rules
	// ForwardURG is true when the Go runtime never sends SIGURG to itself,
	// so that every SIGURG initd receives came from outside.
	ForwardURG bool
}

// Deliver returns the signal to forward for sig, as received; ok is false
// when it is dropped. A SIGPIPE that initd's own write to a closed stderr
// raised never gets here: initd's log takes it off its thread.
func (p *Policy) Deliver(sig syscall.Signal) (out syscall.Signal, ok bool) {
	switch ClassOf(sig) {
	case Forwarded:
	case Preempt:
		if !p.ForwardURG {
			return 0, false // most likely the runtime's own preemption signal
		}
	default:
		return 0, false
	}
	return p.Rules.Apply(sig)
}
