package forward

import (
	"strings"
	"syscall"
	"testing"
)

// A rule is accepted exactly when initd can forward its FROM: every other
// rule would be accepted and then never fire.
func TestRulesRefuseWhatIsNeverForwarded(t *testing.T) {
	for sig := syscall.Signal(1); sig < NSig; sig++ {
		var r Rules
		err := r.Set(sig, syscall.SIGTERM)
		switch c := ClassOf(sig); c {
		case Forwarded, Preempt:
			if err != nil {
				t.Errorf("Set(%s, SIGTERM): %v; want it accepted", Name(sig), err)
			}
		default:
			if err == nil || !strings.HasPrefix(err.Error(), Name(sig)+" is never forwarded (") {
				t.Errorf("Set(%s, SIGTERM) (class %d) = %v; want %q", Name(sig), c, err, Name(sig)+" is never forwarded (...)")
			}
			if out, ok := r.Apply(sig); out != sig || !ok {
				t.Errorf("a refused rule for %s still applies: %s, %v", Name(sig), Name(out), ok)
			}
		}
	}
}

func TestRulesRefusalSaysWhy(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGTTIN, "SIGTTIN is never forwarded (initd drops it so that it cannot be stopped by the terminal)"},
		{syscall.SIGTTOU, "SIGTTOU is never forwarded (initd drops it so that it cannot be stopped by the terminal)"},
		{syscall.SIGCHLD, "SIGCHLD is never forwarded (initd uses it to reap children)"},
		{syscall.SIGKILL, "SIGKILL is never forwarded (no process can catch it)"},
		{syscall.SIGSTOP, "SIGSTOP is never forwarded (no process can catch it)"},
		{syscall.SIGPROF, "SIGPROF is never forwarded (the Go runtime keeps it, so initd never receives it)"},
		{34, "SIGRTMIN is never forwarded (the Go runtime keeps it, so initd never receives it)"},
	} {
		var r Rules
		if err := r.Set(tt.sig, syscall.SIGUSR1); err == nil || err.Error() != tt.want {
			t.Errorf("Set(%s): %v; want %q", Name(tt.sig), err, tt.want)
		}
	}
}
